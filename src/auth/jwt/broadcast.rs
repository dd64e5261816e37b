//! Several servers, one denylist. Each server keeps its denylist in memory (a lookup costs no
//! round trip); when `REDIS_URL` is set, a kill on one server reaches every other server's list
//! at once through Redis pub/sub. Every server also rebuilds its list from the database at
//! start and whenever it (re)subscribes: a message missed while Redis was away is made up for,
//! since the database keeps which families were revoked and which access tokens they were
//! given. So Redis carries no per-token keys of its own: the database already is the record.

use std::{sync::Arc, time::Duration};

use futures::StreamExt as _;
use redis::{Client, RedisError, aio::ConnectionManager};

use super::revocation::Denylist;
use crate::{
    core::{clock::Clock, redis::connect_lazily},
    db::Db,
    error::AppError,
};

/// The channel every server listens on: messages are `"<exp> <jti>"`.
pub const CHANNEL: &str = "tb:denied";

/// The longest a server waits before trying Redis again after losing it.
const MOST_BETWEEN_ATTEMPTS: Duration = Duration::from_secs(2);

/// This server's side of the broadcast: it publishes its own denials, and a task listens for
/// the others'.
#[derive(Clone)]
pub struct DenylistBroadcast {
    publisher: ConnectionManager,
}

impl DenylistBroadcast {
    /// Starts listening on the Redis at `url` (in the background: the server starts while
    /// Redis is down, and listens once it is up); denials from other servers land in
    /// `denylist`.
    pub fn start(
        url: &str,
        denylist: Arc<Denylist>,
        db: Db,
        clock: Clock,
    ) -> Result<Self, RedisError> {
        let (client, publisher) = connect_lazily(url)?;
        tokio::spawn(listen(client, denylist, db, clock));
        Ok(DenylistBroadcast { publisher })
    }

    /// Tells every server that each `(jti, exp)` is denied.
    pub async fn publish(&self, denied: &[(String, i64)]) -> Result<(), RedisError> {
        if denied.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (jti, exp) in denied {
            pipe.cmd("PUBLISH")
                .arg(CHANNEL)
                .arg(format!("{exp} {jti}"))
                .ignore();
        }
        pipe.query_async::<()>(&mut self.publisher.clone()).await
    }
}

/// Adds every access token the database says was revoked and has not expired to `denylist`;
/// returns how many.
pub async fn restore(denylist: &Denylist, db: &Db, clock: &Clock) -> Result<usize, AppError> {
    let now = clock.now();
    let denied = db.denied_access_tokens(now).await?;
    let count = denied.len();
    for (jti, exp) in denied {
        denylist.deny(jti, exp, now);
    }
    Ok(count)
}

/// A message of the channel: `"<exp> <jti>"`.
fn parse(message: &str) -> Option<(String, i64)> {
    let (exp, jti) = message.split_once(' ')?;
    let exp = exp.parse().ok()?;
    (!jti.is_empty() && jti.len() <= 64 && !jti.contains(char::is_whitespace))
        .then(|| (jti.to_owned(), exp))
}

/// Listens for other servers' denials for as long as the server runs, subscribing again after
/// every loss of Redis (waiting a little longer each time, up to two seconds).
async fn listen(client: Client, denylist: Arc<Denylist>, db: Db, clock: Clock) {
    let mut wait = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                Ok(()) => {
                    wait = Duration::from_millis(100);
                    // Whatever was denied while this server was not listening.
                    if let Err(error) = restore(&denylist, &db, &clock).await {
                        tracing::warn!(%error, "the denylist could not be restored");
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let denied = message
                            .get_payload::<String>()
                            .ok()
                            .as_deref()
                            .and_then(parse);
                        if let Some((jti, exp)) = denied {
                            denylist.deny(jti, exp, clock.now());
                        }
                    }
                    tracing::warn!("lost the denylist broadcast: listening again");
                }
                Err(error) => tracing::debug!(%error, "cannot subscribe to the denylist"),
            },
            Err(error) => tracing::debug!(%error, "cannot reach Redis for the denylist"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MOST_BETWEEN_ATTEMPTS);
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_well_formed_messages_deny_anything() {
        assert_eq!(parse("1800000000 abc"), Some(("abc".into(), 1_800_000_000)));
        assert_eq!(parse("soon abc"), None);
        assert_eq!(parse("1800000000 "), None);
        assert_eq!(parse("1800000000"), None);
        assert_eq!(parse(&format!("1 {}", "x".repeat(65))), None);
    }
}
