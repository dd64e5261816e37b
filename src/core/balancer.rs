//! HAProxy's runtime API, over its admin socket (`HAPROXY_SOCKET`): which instances each door
//! sends requests to, and taking one out by hand or putting it back. One command per
//! connection, as the socket answers and closes in its default (non-interactive) mode.

use std::{
    io,
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::UnixStream,
};

use crate::model::{BalancedServer, ServerState};

/// A slow or stuck HAProxy costs a page this long at most.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Answers are a few lines per server; anything longer is not HAProxy's.
const MOST_ANSWER_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug)]
pub struct HaproxyApi {
    socket: PathBuf,
}

impl HaproxyApi {
    pub fn new(socket: &Path) -> Self {
        HaproxyApi {
            socket: socket.to_owned(),
        }
    }

    /// Sends one command and returns HAProxy's answer.
    async fn command(&self, command: &str) -> io::Result<String> {
        let exchange = async {
            let mut stream = UnixStream::connect(&self.socket).await?;
            stream.write_all(format!("{command}\n").as_bytes()).await?;
            let mut answer = String::new();
            stream
                .take(MOST_ANSWER_BYTES)
                .read_to_string(&mut answer)
                .await?;
            Ok(answer)
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Every server of every backend, as `show stat` reports them.
    pub async fn servers(&self) -> io::Result<Vec<BalancedServer>> {
        Ok(parse_stat(&self.command("show stat").await?))
    }

    /// Takes `instance` out of every door (`disable server`: HAProxy's maintenance state), or
    /// puts it back (`enable server`: its health checks decide again). `Ok(false)` if no door
    /// has an instance of that name.
    pub async fn set_taken_out(&self, instance: &str, taken_out: bool) -> io::Result<bool> {
        let verb = if taken_out { "disable" } else { "enable" };
        let mut found = false;
        for server in self.servers().await? {
            if server.instance != instance {
                continue;
            }
            found = true;
            let answer = self
                .command(&format!(
                    "{verb} server {}/{}",
                    server.door, server.instance
                ))
                .await?;
            // Success is an empty answer; anything else is HAProxy saying why not.
            if !answer.trim().is_empty() {
                return Err(io::Error::other(answer.trim().to_owned()));
            }
        }
        Ok(found)
    }
}

/// The servers in `show stat`'s CSV: proxy name, server name, …, status (the 18th field); the
/// header line and each proxy's FRONTEND and BACKEND lines are not servers.
fn parse_stat(csv: &str) -> Vec<BalancedServer> {
    csv.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let (door, instance, status) = (fields.first()?, fields.get(1)?, fields.get(17)?);
            (!matches!(*instance, "FRONTEND" | "BACKEND")).then(|| BalancedServer {
                door: (*door).to_owned(),
                instance: (*instance).to_owned(),
                state: ServerState::of_status(status),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_servers_and_skips_the_header_and_the_proxies_own_lines() {
        let csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n\
            round_robin_door,FRONTEND,,,0,1,,,,,,,,,,,,OPEN,\n\
            round_robin,A,0,0,0,1,,,,,,,,,,,,UP,1\n\
            round_robin,B,0,0,0,1,,,,,,,,,,,,MAINT,1\n\
            round_robin,C,0,0,0,1,,,,,,,,,,,,DOWN 1/2,1\n\
            round_robin,BACKEND,0,0,0,1,,,,,,,,,,,,UP,3\n";
        let servers = parse_stat(csv);
        let states: Vec<(&str, ServerState)> = servers
            .iter()
            .map(|server| (server.instance.as_str(), server.state))
            .collect();
        assert_eq!(
            states,
            [
                ("A", ServerState::Up),
                ("B", ServerState::TakenOut),
                ("C", ServerState::Down)
            ]
        );
        assert!(servers.iter().all(|server| server.door == "round_robin"));
    }
}
