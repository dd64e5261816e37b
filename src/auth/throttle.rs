//! Slows password guessing down: a sign-in attempt is refused, before any password is hashed,
//! once too many attempts failed recently for the same account from the same network, or from
//! that network for any account.
//!
//! - Keyed by network *and* account, so that someone guessing at an account from one address
//!   cannot lock its owner out everywhere: the owner, elsewhere, signs in as usual.
//! - A looser limit per network catches one address spraying guesses over many accounts. IPv6
//!   clients are counted per /64, the block one subscriber usually gets.
//! - An attempt counts from the moment it starts, under the lock, so a burst of parallel
//!   guesses cannot all slip in before the first failure is recorded. A success takes its own
//!   attempt back and clears the account's record; an attempt that never reached a verdict
//!   (server busy, client gone) is taken back too, so only real failures count.
//! - The answer is the same whether the account exists, and while locked even the right
//!   password is refused: a lock must not turn into an oracle.
//!
//! The counts are in this server's memory: a restart forgets them, and each server behind a load
//! balancer would count its own. With `REDIS_URL` set they are kept in Redis instead
//! ([`SharedCounts`]), so a guesser spread over several servers gets the attempts one server
//! would give; while Redis is away each server counts in its own memory again.

use std::{
    net::IpAddr,
    sync::{Mutex, MutexGuard},
};

use std::sync::LazyLock;

use redis::{RedisError, Script, aio::ConnectionManager};

use super::recent::RecentTable;

pub use crate::core::config::{SignUpLimits, ThrottleLimits};
use crate::core::{
    ids::{fingerprint, hex, random_token, sha256},
    redis::connect_lazily,
    sync::lock,
};
use crate::error::AppError;

/// Beyond this many tracked keys per table, the stalest are forgotten first: memory stays
/// bounded when many addresses attack at once.
const MAX_TRACKED: usize = 100_000;

/// Longest part of a username kept in a key: no valid username is longer, so longer ones
/// cannot be told apart usefully and must not cost memory.
const KEY_USERNAME_CHARS: usize = 33;

#[derive(Debug)]
pub struct SignInThrottle {
    limits: ThrottleLimits,
    tables: Mutex<Tables>,
    /// The counts every server shares, when there is a Redis.
    shared: Option<SharedCounts>,
}

#[derive(Debug)]
struct Tables {
    /// (network, lowercase username) → start times of attempts within the window, oldest first.
    accounts: RecentTable<(String, String)>,
    networks: RecentTable<String>,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            accounts: RecentTable::new(MAX_TRACKED),
            networks: RecentTable::new(MAX_TRACKED),
        }
    }
}

/// A sign-in attempt under way. Settle it with [`Attempt::failed`] or [`Attempt::succeeded`];
/// dropped unsettled, it is taken back.
#[must_use = "an attempt that is not settled is taken back"]
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    network: String,
    account: (String, String),
    started_at: i64,
    settled: bool,
    /// Counted in Redis under this id (else in this server's tables).
    shared_id: Option<String>,
}

impl SignInThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        SignInThrottle {
            limits,
            tables: Mutex::default(),
            shared: None,
        }
    }

    /// Counts in Redis from now on (several servers, one count).
    pub fn share(&mut self, counts: SharedCounts) {
        self.shared = Some(counts);
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        lock(&self.tables)
    }

    /// Starts an attempt to sign in as `username` from `ip`, or refuses it with
    /// [`AppError::TooManyAttempts`] saying how long to wait.
    pub async fn begin(&self, ip: &str, username: &str, now: i64) -> Result<Attempt<'_>, AppError> {
        let network = network_of(ip);
        let account = (network.clone(), account_key(username));
        if let Some(shared) = &self.shared {
            let id = random_token(12);
            match shared
                .begin(&account, &network, self.limits, now, &id)
                .await
            {
                Ok(None) => {
                    return Ok(Attempt {
                        throttle: self,
                        network,
                        account,
                        started_at: now,
                        settled: false,
                        shared_id: Some(id),
                    });
                }
                Ok(Some(wait)) => return Err(refused(&network, &account, wait)),
                Err(error) => {
                    tracing::warn!(%error, "Redis is away: counting sign-ins in this server");
                }
            }
        }
        self.begin_here(network, account, now)
    }

    /// [`Self::begin`] without Redis, for the tests of the counting itself.
    #[cfg(test)]
    fn begin_here_now(&self, ip: &str, username: &str, now: i64) -> Result<Attempt<'_>, AppError> {
        let network = network_of(ip);
        let account = (network.clone(), account_key(username));
        self.begin_here(network, account, now)
    }

    /// [`Self::begin`] in this server's tables.
    fn begin_here(
        &self,
        network: String,
        account: (String, String),
        now: i64,
    ) -> Result<Attempt<'_>, AppError> {
        let since = now - self.limits.window;
        let mut tables = self.tables();
        let Tables { accounts, networks } = &mut *tables;
        let account_times = accounts.recent(&account, since);
        let network_times = networks.recent(&network, since);
        let wait = [
            (account_times, self.limits.per_account),
            (network_times, self.limits.per_network),
        ]
        .into_iter()
        .filter_map(|(times, limit)| {
            // Counting the newest `limit`: the oldest of them must leave the window first.
            let first_counted = times.len().checked_sub(limit.max(1))?;
            times.get(first_counted)
        })
        .map(|oldest_counted| oldest_counted + self.limits.window - now)
        .max();
        if let Some(wait) = wait {
            return Err(refused(&network, &account, wait));
        }
        accounts.record(account.clone(), now);
        networks.record(network.clone(), now);
        Ok(Attempt {
            throttle: self,
            network,
            account,
            started_at: now,
            settled: false,
            shared_id: None,
        })
    }

    /// Forgets attempts older than the window; returns how many keys are still tracked.
    pub fn sweep(&self, now: i64) -> usize {
        let since = now - self.limits.window;
        let mut tables = self.tables();
        let Tables { accounts, networks } = &mut *tables;
        accounts.forget_before(since);
        networks.forget_before(since);
        accounts.len() + networks.len()
    }

    /// Takes back the attempt started at `started_at`; with `clear_account`, the account's
    /// earlier failures too.
    fn take_back(&self, attempt: &Attempt<'_>, clear_account: bool) {
        if let (Some(shared), Some(id)) = (&self.shared, &attempt.shared_id) {
            // Settled off the request's path: a drop cannot wait for Redis.
            let (shared, id) = (shared.clone(), id.clone());
            let (account, network) = (attempt.account.clone(), attempt.network.clone());
            tokio::spawn(async move {
                if let Err(error) = shared
                    .take_back(&account, &network, &id, clear_account)
                    .await
                {
                    tracing::warn!(%error, "a sign-in attempt stays counted: Redis is away");
                }
            });
            return;
        }
        let mut tables = self.tables();
        let Tables { accounts, networks } = &mut *tables;
        if clear_account {
            accounts.forget(&attempt.account);
        } else {
            accounts.remove_one(&attempt.account, attempt.started_at);
        }
        networks.remove_one(&attempt.network, attempt.started_at);
    }
}

impl Attempt<'_> {
    /// The password was wrong: the attempt keeps counting until it leaves the window.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right: earlier failures for this account from this network are
    /// forgiven, and this attempt does not count against the network. In Redis this is done
    /// before the sign-in answers, so the next attempt finds the account's count cleared.
    pub async fn succeeded(mut self) {
        self.settled = true;
        if let (Some(shared), Some(id)) = (&self.throttle.shared, &self.shared_id) {
            if let Err(error) = shared
                .take_back(&self.account, &self.network, id, true)
                .await
            {
                tracing::warn!(%error, "earlier failures stay counted: Redis is away");
            }
            return;
        }
        self.throttle.take_back(&self, true);
    }

    /// [`Self::succeeded`] for the tests of the counting itself (no Redis, nothing to wait for).
    #[cfg(test)]
    fn succeeded_here(mut self) {
        self.settled = true;
        self.throttle.take_back(&self, true);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.throttle.take_back(self, false);
        }
    }
}

/// The refusal of an attempt that must wait `wait` seconds, logged.
fn refused(network: &str, account: &(String, String), wait: i64) -> AppError {
    // Never the typed username: it may be a password typed into the wrong field. A
    // fingerprint still tells one account's attacks from another's.
    tracing::warn!(
        %network,
        account = %fingerprint(account.1.as_bytes(), 4),
        "sign-in refused: too many failed attempts"
    );
    AppError::TooManyAttempts {
        retry_after: wait.max(1),
    }
}

/// The sign-in counts in a Redis every server shares: a sorted set of attempts per account
/// (network and username) and per network, scored by start time, each attempt a random id.
/// The keys hold a hash of the username, never the username: it may be a password typed into
/// the wrong field. Checking and counting is one Lua script, so parallel guesses on several
/// servers cannot all slip in before the first is counted.
#[derive(Clone)]
pub struct SharedCounts {
    connection: ConnectionManager,
}

impl std::fmt::Debug for SharedCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCounts").finish_non_exhaustive()
    }
}

/// Drops attempts at or before ARGV[2]; refuses with the wait (seconds) when either key holds
/// its limit (ARGV[4], ARGV[5]) of attempts; else counts attempt ARGV[6] at ARGV[1] in both.
static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now, since, window = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
        local wait = -1
        for i, key in ipairs(KEYS) do
            local limit = tonumber(ARGV[3 + i])
            redis.call('ZREMRANGEBYSCORE', key, '-inf', since)
            local count = redis.call('ZCARD', key)
            if count >= limit then
                local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
                wait = math.max(wait, tonumber(oldest[2]) + window - now)
            end
        end
        if wait >= 0 then return math.max(wait, 1) end
        for _, key in ipairs(KEYS) do
            redis.call('ZADD', key, now, ARGV[6])
            redis.call('EXPIRE', key, window)
        end
        return 0
        ",
    )
});

/// Takes attempt ARGV[1] back from the network (KEYS[2]) and the account (KEYS[1]), or clears
/// the account's count altogether when ARGV[2] is 'clear'.
static TAKE_BACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if ARGV[2] == 'clear' then
            redis.call('DEL', KEYS[1])
        else
            redis.call('ZREM', KEYS[1], ARGV[1])
        end
        redis.call('ZREM', KEYS[2], ARGV[1])
        return 0
        ",
    )
});

impl SharedCounts {
    /// Counts on the Redis at `url` (connected at first use).
    pub fn open(url: &str) -> Result<Self, RedisError> {
        let (_, connection) = connect_lazily(url)?;
        Ok(SharedCounts { connection })
    }

    fn keys(account: &(String, String), network: &str) -> [String; 2] {
        let account = hex(&sha256(format!("{}\n{}", account.0, account.1).as_bytes()));
        [
            format!("tb:throttle:account:{account}"),
            format!("tb:throttle:network:{network}"),
        ]
    }

    /// Counts attempt `id`, or says how long to wait.
    async fn begin(
        &self,
        account: &(String, String),
        network: &str,
        limits: ThrottleLimits,
        now: i64,
        id: &str,
    ) -> Result<Option<i64>, RedisError> {
        let [account_key, network_key] = Self::keys(account, network);
        let wait: i64 = BEGIN
            .key(account_key)
            .key(network_key)
            .arg(now)
            .arg(now - limits.window)
            .arg(limits.window)
            .arg(limits.per_account.max(1))
            .arg(limits.per_network.max(1))
            .arg(id)
            .invoke_async(&mut self.connection.clone())
            .await?;
        Ok((wait > 0).then_some(wait))
    }

    async fn take_back(
        &self,
        account: &(String, String),
        network: &str,
        id: &str,
        clear_account: bool,
    ) -> Result<(), RedisError> {
        let [account_key, network_key] = Self::keys(account, network);
        TAKE_BACK
            .key(account_key)
            .key(network_key)
            .arg(id)
            .arg(if clear_account { "clear" } else { "one" })
            .invoke_async(&mut self.connection.clone())
            .await
    }
}

/// Counts sign-ups per network: each one costs a password hash.
#[derive(Debug)]
pub struct SignUpThrottle {
    limits: SignUpLimits,
    networks: Mutex<RecentTable<String>>,
}

impl SignUpThrottle {
    pub fn new(limits: SignUpLimits) -> Self {
        SignUpThrottle {
            limits,
            networks: Mutex::new(RecentTable::new(MAX_TRACKED)),
        }
    }

    /// Counts a sign-up from `ip` that is about to be hashed, or refuses it with
    /// [`AppError::TooManySignUps`] saying how long to wait.
    pub fn admit(&self, ip: &str, now: i64) -> Result<(), AppError> {
        let network = network_of(ip);
        let mut networks = lock(&self.networks);
        let times = networks.recent(&network, now - self.limits.window);
        if let Some(oldest_counted) = times
            .len()
            .checked_sub(self.limits.per_network.max(1))
            .and_then(|first| times.get(first))
        {
            let retry_after = (oldest_counted + self.limits.window - now).max(1);
            tracing::warn!(%network, "sign-up refused: too many from this network");
            return Err(AppError::TooManySignUps { retry_after });
        }
        networks.record(network, now);
        Ok(())
    }

    /// Forgets sign-ups older than the window.
    pub fn sweep(&self, now: i64) {
        lock(&self.networks).forget_before(now - self.limits.window);
    }
}

/// The network an address belongs to: the address itself for IPv4 (IPv4-mapped IPv6 included),
/// its /64 for IPv6.
fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// Usernames are compared without case, so `Alice` and `alice` share a count.
fn account_key(username: &str) -> String {
    username
        .chars()
        .take(KEY_USERNAME_CHARS)
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ThrottleLimits = ThrottleLimits {
        per_account: 3,
        per_network: 5,
        window: 100,
    };

    fn wait_of(result: Result<Attempt<'_>, AppError>) -> i64 {
        match result {
            Err(AppError::TooManyAttempts { retry_after }) => retry_after,
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("the attempt was allowed"),
        }
    }

    #[test]
    fn failures_lock_the_account_from_that_network_until_the_oldest_leaves_the_window() {
        let throttle = SignInThrottle::new(LIMITS);
        for at in [0, 10, 20] {
            throttle
                .begin_here_now("10.0.0.1", "alice", at)
                .unwrap()
                .failed();
        }
        assert_eq!(
            wait_of(throttle.begin_here_now("10.0.0.1", "ALICE", 30)),
            70
        );
        // Another network, and another account from the same one, are not locked.
        throttle
            .begin_here_now("10.0.0.2", "alice", 30)
            .unwrap()
            .failed();
        throttle
            .begin_here_now("10.0.0.1", "bob", 30)
            .unwrap()
            .failed();
        // At 100 the attempt of 0 has left the window: one more may be tried.
        assert_eq!(wait_of(throttle.begin_here_now("10.0.0.1", "alice", 99)), 1);
        throttle
            .begin_here_now("10.0.0.1", "alice", 100)
            .unwrap()
            .failed();
        assert_eq!(
            wait_of(throttle.begin_here_now("10.0.0.1", "alice", 101)),
            9
        );
    }

    #[test]
    fn a_network_spraying_many_accounts_is_locked_for_all_of_them() {
        let throttle = SignInThrottle::new(LIMITS);
        for (at, name) in ["a1", "a2", "a3", "a4", "a5"].into_iter().enumerate() {
            throttle
                .begin_here_now("10.0.0.1", name, at as i64)
                .unwrap()
                .failed();
        }
        assert_eq!(
            wait_of(throttle.begin_here_now("10.0.0.1", "someone", 5)),
            95
        );
        throttle
            .begin_here_now("10.0.0.9", "someone", 5)
            .unwrap()
            .failed();
    }

    #[test]
    fn success_forgives_the_account_and_does_not_count_against_the_network() {
        let throttle = SignInThrottle::new(LIMITS);
        for at in 0..2 {
            throttle
                .begin_here_now("10.0.0.1", "alice", at)
                .unwrap()
                .failed();
        }
        throttle
            .begin_here_now("10.0.0.1", "alice", 2)
            .unwrap()
            .succeeded_here();
        for at in 3..5 {
            throttle
                .begin_here_now("10.0.0.1", "alice", at)
                .unwrap()
                .failed();
        }
        // 2 failures since the success: still allowed. The network saw 4 failures, not 5.
        throttle
            .begin_here_now("10.0.0.1", "bob", 5)
            .unwrap()
            .succeeded_here();
        throttle
            .begin_here_now("10.0.0.1", "alice", 6)
            .unwrap()
            .failed();
        assert!(throttle.begin_here_now("10.0.0.1", "alice", 7).is_err());
    }

    #[test]
    fn attempts_in_flight_count_and_unsettled_ones_are_taken_back() {
        let throttle = SignInThrottle::new(LIMITS);
        let in_flight: Vec<_> = (0..3)
            .map(|_| throttle.begin_here_now("10.0.0.1", "alice", 0).unwrap())
            .collect();
        assert!(
            throttle.begin_here_now("10.0.0.1", "alice", 0).is_err(),
            "a burst is capped"
        );
        drop(in_flight);
        throttle
            .begin_here_now("10.0.0.1", "alice", 0)
            .unwrap()
            .failed();
        assert_eq!(throttle.sweep(0), 2, "one account and one network tracked");
        assert_eq!(throttle.sweep(100), 0, "everything left the window");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:ffff::9"), "2001:db8:1:2::/64");
        assert_eq!(network_of("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(network_of("10.1.2.3"), "10.1.2.3");
        assert_eq!(account_key(&"X".repeat(5000)).len(), KEY_USERNAME_CHARS);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let mut tables = Tables::default();
        for n in 0..MAX_TRACKED + 10 {
            tables.networks.record(n.to_string(), n as i64);
        }
        assert_eq!(tables.networks.len(), MAX_TRACKED);
        assert!(
            !tables.networks.contains(&"0".to_owned()),
            "the stalest went first"
        );
        assert!(tables.networks.contains(&(MAX_TRACKED + 9).to_string()));
    }
}
