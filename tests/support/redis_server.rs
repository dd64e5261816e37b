//! A real Redis for a test: Debian's `redis-server` on a Unix socket in a temporary folder,
//! keeping nothing on disk unless asked to keep an append-only file, stopped (killed) when
//! dropped. Used by the store suite (`src/auth/session/store.rs`), the integration tests and
//! the benches.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RedisServer {
    process: Option<Child>,
    dir: tempfile::TempDir,
    /// Whether it logs every write to an append-only file in `dir`, read again at a restart.
    append_only: bool,
}

impl RedisServer {
    /// Starts one and waits until it answers; panics, saying what to install, if it cannot.
    pub fn start() -> RedisServer {
        Self::started(false)
    }

    /// One that keeps an append-only file (`--appendonly yes`, Redis's default `everysec`
    /// fsync), as `make redis REDIS_AOF=yes` runs it: a restart finds its data again.
    pub fn start_append_only() -> RedisServer {
        Self::started(true)
    }

    fn started(append_only: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("a temporary folder for redis");
        let mut server = RedisServer {
            process: None,
            dir,
            append_only,
        };
        server.launch();
        server
    }

    /// `redis+unix:///…/r.sock`: the same across a restart.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("r.sock")
    }

    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let process = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                if self.append_only { "yes" } else { "no" },
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; .ci/setup --test installs it)");
        self.process = Some(process);
        let started = Instant::now();
        while !self.answers() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether it answers a PING on its socket.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(self.socket()) else {
            return false;
        };
        let mut reply = [0_u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills it: what a crashed or unreachable Redis looks like to the app.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Starts it again on the same socket: empty, unless it keeps an append-only file.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
