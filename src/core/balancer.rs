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

use super::text::excerpt;
use crate::model::{BalancedServer, ServerState};

/// A slow or stuck HAProxy costs a page this long at most.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Answers are a few lines per server; anything longer is not HAProxy's.
const MOST_ANSWER_BYTES: u64 = 1 << 20;

/// The backends of the two doors (`.ci/haproxy.cfg.template`): the only ones this app reads
/// or changes, whatever else the same HAProxy fronts.
pub const DOORS: [&str; 2] = ["round_robin", "sticky"];

/// Why HAProxy could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    /// No answer: the socket is missing, refused the connection, or timed out.
    #[error("the runtime API did not answer: {0}")]
    Unreachable(#[from] io::Error),
    /// An answer that is not what the command gives (a socket without `level admin` says
    /// "Permission denied", say); an excerpt of it.
    #[error("the runtime API refused: {0}")]
    Refused(String),
}

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
    async fn command(&self, command: &str) -> Result<String, BalancerError> {
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
            .map_err(BalancerError::Unreachable)
    }

    /// Every server behind the two doors, as `show stat` reports them.
    pub async fn servers(&self) -> Result<Vec<BalancedServer>, BalancerError> {
        parse_stat(&self.command("show stat").await?)
    }

    /// Takes `instance` out of both doors (`disable server`: HAProxy's maintenance state), or
    /// puts it back (`enable server`: its health checks decide again). `Ok(false)` if neither
    /// door has an instance of that name. All or nothing: if the second door fails, the first
    /// is set back as it was.
    pub async fn set_taken_out(
        &self,
        instance: &str,
        taken_out: bool,
    ) -> Result<bool, BalancerError> {
        let doors: Vec<String> = self
            .servers()
            .await?
            .into_iter()
            .filter(|server| server.instance == instance)
            .map(|server| server.door)
            .collect();
        let mut changed: Vec<&str> = Vec::new();
        for door in &doors {
            if let Err(error) = self.set_one(door, instance, taken_out).await {
                for done in changed {
                    if let Err(undo) = self.set_one(done, instance, !taken_out).await {
                        tracing::error!(%undo, door = done, "a door could not be set back");
                    }
                }
                return Err(error);
            }
            changed.push(door);
        }
        Ok(!doors.is_empty())
    }

    async fn set_one(
        &self,
        door: &str,
        instance: &str,
        taken_out: bool,
    ) -> Result<(), BalancerError> {
        let verb = if taken_out { "disable" } else { "enable" };
        let answer = self
            .command(&format!("{verb} server {door}/{instance}"))
            .await?;
        // Success is an empty answer; anything else is HAProxy saying why not.
        match answer.trim() {
            "" => Ok(()),
            refusal => Err(BalancerError::Refused(excerpt(refusal, 200))),
        }
    }
}

/// The servers of the two doors in `show stat`'s CSV, the columns found by the header's names;
/// the proxies' own FRONTEND and BACKEND lines are not servers. Any other answer (an error
/// message, a changed format) is refused, not read as a cluster without servers.
fn parse_stat(csv: &str) -> Result<Vec<BalancedServer>, BalancerError> {
    let mut lines = csv.lines();
    let refused = || BalancerError::Refused(excerpt(csv.trim(), 200));
    let header: Vec<&str> = lines
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .ok_or_else(refused)?
        .split(',')
        .collect();
    let column = |name: &str| header.iter().position(|field| *field == name);
    let (Some(door), Some(instance), Some(status)) =
        (column("pxname"), column("svname"), column("status"))
    else {
        return Err(refused());
    };
    Ok(lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let (door, instance, status) = (
                *fields.get(door)?,
                *fields.get(instance)?,
                *fields.get(status)?,
            );
            (DOORS.contains(&door) && !matches!(instance, "FRONTEND" | "BACKEND")).then(|| {
                BalancedServer {
                    door: door.to_owned(),
                    instance: instance.to_owned(),
                    state: ServerState::of_status(status),
                }
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_doors_servers_by_column_name_and_skips_the_rest() {
        let csv = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n\
            round_robin_door,FRONTEND,,,0,1,,,,,,,,,,,,OPEN,\n\
            round_robin,A,0,0,0,1,,,,,,,,,,,,UP,1\n\
            round_robin,B,0,0,0,1,,,,,,,,,,,,MAINT,1\n\
            round_robin,C,0,0,0,1,,,,,,,,,,,,DOWN 1/2,1\n\
            round_robin,BACKEND,0,0,0,1,,,,,,,,,,,,UP,3\n\
            someone_elses,A,0,0,0,1,,,,,,,,,,,,UP,1\n\
            sticky,A,0,0,0,1,,,,,,,,,,,,DRAIN,1\n";
        let servers = parse_stat(csv).unwrap();
        let states: Vec<(&str, &str, ServerState)> = servers
            .iter()
            .map(|server| (server.door.as_str(), server.instance.as_str(), server.state))
            .collect();
        assert_eq!(
            states,
            [
                ("round_robin", "A", ServerState::Up),
                ("round_robin", "B", ServerState::TakenOut),
                ("round_robin", "C", ServerState::Down),
                ("sticky", "A", ServerState::Down),
            ]
        );
    }

    #[test]
    fn an_answer_that_is_not_the_table_is_refused_not_read_as_no_servers() {
        for answer in [
            "Permission denied.\n",
            "Unknown command.\n",
            "",
            "# pxname,svname\n",
        ] {
            assert!(
                matches!(parse_stat(answer), Err(BalancerError::Refused(_))),
                "{answer:?}"
            );
        }
    }
}
