//! A real load balancer for a test: Debian's `haproxy` in front of some servers, configured as
//! `make cluster` configures it (`.ci/haproxy.cfg.template`): a **round-robin** door and a
//! **sticky** one, each server's `/readyz` checked every 200 ms. Its runtime API (an admin
//! socket) takes a server out by hand. Killed when dropped.

use std::{
    io::{Read as _, Write as _},
    net::SocketAddr,
    os::unix::net::UnixStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct Haproxy {
    process: Child,
    dir: tempfile::TempDir,
    /// The round-robin door's URL.
    pub round_robin: String,
    /// The sticky door's URL.
    pub sticky: String,
}

/// The ports of the two doors and the folder of the admin socket, chosen before the servers
/// start: they all answer to one public URL (the round-robin door's), which their tokens name
/// as their issuer, and they are told where the runtime API will be (`HAPROXY_SOCKET`).
pub struct Doors {
    dir: tempfile::TempDir,
    round_robin: u16,
    sticky: u16,
}

impl Doors {
    pub fn reserve() -> Doors {
        Doors {
            dir: tempfile::tempdir().expect("a temporary folder for haproxy"),
            round_robin: free_port(),
            sticky: free_port(),
        }
    }

    pub fn round_robin(&self) -> String {
        format!("http://127.0.0.1:{}", self.round_robin)
    }

    /// Where HAProxy's runtime API will listen.
    pub fn admin_socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }
}

/// A free port on 127.0.0.1 (the OS picks it; HAProxy, or a server process, binds it a moment
/// later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

impl Haproxy {
    /// Starts HAProxy on `doors` in front of `servers` (name, address) and waits until every server
    /// passed its health check (the servers may answer on this thread: the wait yields);
    /// panics, saying what to install, if it cannot.
    pub async fn start(doors: Doors, servers: &[(&str, SocketAddr)]) -> Haproxy {
        let Doors {
            dir,
            round_robin,
            sticky,
        } = doors;
        let config = configuration(&dir.path().join("admin.sock"), round_robin, sticky, servers);
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).expect("the configuration written");
        let process = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy (Debian's haproxy package; .ci/setup --test installs it)");
        let haproxy = Haproxy {
            process,
            dir,
            round_robin: format!("http://127.0.0.1:{round_robin}"),
            sticky: format!("http://127.0.0.1:{sticky}"),
        };
        haproxy.wait_until_up(servers.len() * 2).await;
        haproxy
    }

    /// Waits until exactly `count` servers (over both doors) are up.
    pub async fn wait_until_up(&self, count: usize) {
        let started = Instant::now();
        while self.servers_up().len() != count {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "haproxy did not find {count} servers up within 10 s: {:?}",
                self.servers_up()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// Sends one command to the runtime API and returns its answer ("" if it cannot connect).
    pub fn command(&self, command: &str) -> String {
        let Ok(mut stream) = UnixStream::connect(self.socket()) else {
            return String::new();
        };
        let mut answer = String::new();
        let _ = stream.write_all(format!("{command}\n").as_bytes());
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    /// `backend/server` of every server HAProxy sends requests to now.
    pub fn servers_up(&self) -> Vec<String> {
        // `show stat` is CSV: proxy name, server name, …, status (the 18th field).
        self.command("show stat")
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                let (proxy, server, status) = (fields.first()?, fields.get(1)?, fields.get(17)?);
                let is_server = !matches!(*server, "FRONTEND" | "BACKEND" | "svname");
                (is_server && *status == "UP").then(|| format!("{proxy}/{server}"))
            })
            .collect()
    }

    /// Takes the server `name` out of both doors by hand (`disable server`): requests that
    /// stuck to it go to another one.
    pub fn take_out(&self, name: &str) {
        for backend in ["round_robin", "sticky"] {
            let answer = self.command(&format!("disable server {backend}/{name}"));
            assert!(answer.trim().is_empty(), "haproxy: {answer}");
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// HAProxy's configuration: the cluster's own (`.ci/haproxy.cfg.template`), its fields filled.
pub fn configuration(
    admin_socket: &std::path::Path,
    round_robin: u16,
    sticky: u16,
    servers: &[(&str, SocketAddr)],
) -> String {
    let lines = |sticky: bool| {
        servers
            .iter()
            .map(|(name, address)| {
                let cookie = if sticky {
                    format!(" cookie {name}")
                } else {
                    String::new()
                };
                format!("    server {name} {address}{cookie}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    include_str!("../../.ci/haproxy.cfg.template")
        .replace("@ADMIN_SOCKET@", &admin_socket.display().to_string())
        .replace("@ROUND_ROBIN_PORT@", &round_robin.to_string())
        .replace("@STICKY_PORT@", &sticky.to_string())
        .replace("@ROUND_ROBIN_SERVERS@", &lines(false))
        .replace("@STICKY_SERVERS@", &lines(true))
}
