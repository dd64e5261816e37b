//! The one way this app connects to Redis (sessions, the denylist's broadcast, the sign-in
//! counts): lazily, so a server starts while Redis is down, and failing fast, so a request
//! waits about a second at most for an unreachable Redis; the manager reconnects by itself.

use std::time::Duration;

use redis::{
    Client, RedisError,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

/// A client for `url` and a connection manager that connects at its first use. A URL that
/// cannot be read is an error now.
pub fn connect_lazily(url: &str) -> Result<(Client, ConnectionManager), RedisError> {
    let client = Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200));
    let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
    Ok((client, connection))
}
