//! The shared desk: cookie sessions in Redis. Every server that reaches the same Redis sees the
//! same sessions, and they survive a restart of the app (not of a Redis that keeps nothing on
//! disk, as the tests' and the README's do).
//!
//! What Redis holds, under the prefix `tb:`:
//! - `tb:session:<hex of the session ID's SHA-256>`, a hash: `entry` (the row and the record's
//!   data, JSON), `role` (the role the session goes by, which only an administrator's change
//!   writes), `user` and `device` (its user id and public id, for the scripts). The key expires
//!   (`PEXPIREAT`) with the session, so Redis forgets it by itself.
//! - `tb:user:<user id>`, a sorted set of that user's session hashes scored by expiry: the
//!   devices page is one script, so one round trip, however many sessions the user has.
//!
//! Every write is one Lua script, which Redis runs atomically: a save updates only a session
//! that still exists (a killed session is never written back), a session and its index change
//! together, and a save never undoes a role change (it does not write `role`).
//!
//! Redis may be unreachable. Every call then fails within about a second with
//! [`super::store::unavailable`], which the app answers with a 503 and `Retry-After` (never a
//! silent sign-out), and the connection manager reconnects by itself once Redis is back.

use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{RedisError, Script, aio::ConnectionManager};
use serde::{Deserialize, Serialize};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

use super::{
    state::{SessionState, entry_of, hash_session_id, record_of, with_role},
    store::{SessionBackend, create_with_fresh_id, unavailable},
};
use crate::{
    core::{clock::Clock, ids::hex, redis::connect_lazily},
    db::SessionRow,
    model::{SessionFootprint, SessionStoreKind},
};

const PREFIX: &str = "tb:";

/// A new session: refused (0) if its key exists.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'entry', ARGV[1], 'role', ARGV[2], 'user', ARGV[3],
            'device', ARGV[4])
        redis.call('PEXPIREAT', KEYS[1], ARGV[7])
        redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
        if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[7]) then
            redis.call('PEXPIREAT', KEYS[2], ARGV[7])
        end
        return 1
        ",
    )
});

/// A live session written back (its activity and expiry); nothing if it is gone.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'entry', ARGV[1])
        redis.call('PEXPIREAT', KEYS[1], ARGV[4])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
        if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[4]) then
            redis.call('PEXPIREAT', KEYS[2], ARGV[4])
        end
        return 1
        ",
    )
});

/// A session deleted by its key, and taken out of its user's index.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local user = redis.call('HGET', KEYS[1], 'user')
        redis.call('DEL', KEYS[1])
        if user then redis.call('ZREM', ARGV[1] .. 'user:' .. user, ARGV[2]) end
        return 0
        ",
    )
});

/// A user's sessions: hash, entry and role of each, flat. Index members whose session Redis
/// has already forgotten are dropped on the way.
static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local out = {}
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            local fields = redis.call('HMGET', ARGV[1] .. member, 'entry', 'role')
            if fields[1] then
                table.insert(out, member)
                table.insert(out, fields[1])
                table.insert(out, fields[2] or '')
            else
                redis.call('ZREM', KEYS[1], member)
            end
        end
        return out
        ",
    )
});

/// Deletes a user's sessions: the one whose public id is ARGV[2] (ARGV[3] = 'one'), or all but
/// it (ARGV[3] = 'others'; an empty ARGV[2] keeps none). Returns how many.
static DELETE_OF_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local ended = 0
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            local key = ARGV[1] .. member
            local device = redis.call('HGET', key, 'device')
            if not device then
                redis.call('ZREM', KEYS[1], member)
            elseif (ARGV[3] == 'one') == (device == ARGV[2]) then
                redis.call('DEL', key)
                redis.call('ZREM', KEYS[1], member)
                ended = ended + 1
            end
        end
        return ended
        ",
    )
});

/// Writes the role of every live session of a user; returns how many.
static SET_ROLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local changed = 0
        for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[3], '+inf')) do
            local key = ARGV[1] .. member
            if redis.call('EXISTS', key) == 1 then
                redis.call('HSET', key, 'role', ARGV[2])
                changed = changed + 1
            end
        end
        return changed
        ",
    )
});

/// The sweeper, for one user's index: deletes the sessions expired by the app's clock.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local deleted = 0
        for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])) do
            deleted = deleted + redis.call('DEL', ARGV[1] .. member)
            redis.call('ZREM', KEYS[1], member)
        end
        return deleted
        ",
    )
});

/// What `entry` holds: the session's row, and the tower-sessions record's data (JSON).
#[derive(Serialize, Deserialize)]
struct Entry {
    public_id: String,
    user_id: i64,
    device: String,
    ip: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    remembered: bool,
    data: String,
}

impl Entry {
    fn of(row: &SessionRow, data: String) -> Self {
        Entry {
            public_id: row.public_id.clone(),
            user_id: row.user_id,
            device: row.device.clone(),
            ip: row.ip.clone(),
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            remembered: row.remembered,
            data,
        }
    }

    fn read(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|error| Error::Decode(error.to_string()))
    }

    fn json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|error| Error::Encode(error.to_string()))
    }

    fn row(&self, id_hash: Vec<u8>) -> SessionRow {
        SessionRow {
            id_hash,
            public_id: self.public_id.clone(),
            user_id: self.user_id,
            device: self.device.clone(),
            ip: self.ip.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            remembered: self.remembered,
        }
    }
}

/// How many sessions the Redis estimate looks at.
const FOOTPRINT_SAMPLE: u32 = 200;

/// What a sample of sessions takes in Redis's memory (`MEMORY USAGE`), each with its share of
/// its user's index: `{sessions sampled, their bytes}`. A walk of every key would block Redis
/// at a million sessions; a sample taken by `SCAN` costs about as much as its size, and at
/// most 20 steps of `SCAN` however many other keys Redis holds.
static FOOTPRINT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local wanted = tonumber(ARGV[2])
        local keys = {}
        local cursor = '0'
        local steps = 0
        repeat
            local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. 'session:*',
                'COUNT', 1000)
            cursor = reply[1]
            steps = steps + 1
            for _, key in ipairs(reply[2]) do
                if #keys < wanted then keys[#keys + 1] = key end
            end
        until cursor == '0' or #keys >= wanted or steps >= 20
        local bytes = 0
        for _, key in ipairs(keys) do
            bytes = bytes + (redis.call('MEMORY', 'USAGE', key) or 0)
            local user = redis.call('HGET', key, 'user')
            if user then
                local index = ARGV[1] .. 'user:' .. user
                local members = redis.call('ZCARD', index)
                if members > 0 then
                    bytes = bytes + (redis.call('MEMORY', 'USAGE', index) or 0) / members
                end
            end
        end
        return {#keys, math.floor(bytes)}
        ",
    )
});

/// The shared desk: sessions in Redis.
#[derive(Clone)]
pub struct RedisSessionStore {
    connection: ConnectionManager,
    clock: Clock,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore").finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// A store on the Redis at `url` (`redis://host:port/db`, `redis+unix:///path/to/socket`).
    /// It connects at its first use, so the server starts while Redis is down, and says so on
    /// `/readyz` and with 503s until Redis is back. A URL that cannot be read is an error now.
    pub fn open(url: &str, clock: Clock) -> std::result::Result<Self, RedisError> {
        // Failing fast: a request waits about a second at most for an unreachable Redis, then
        // gets its 503; the next one tries again.
        let (_, connection) = connect_lazily(url)?;
        Ok(RedisSessionStore { connection, clock })
    }

    fn session_key(member: &str) -> String {
        format!("{PREFIX}session:{member}")
    }

    fn user_key(user_id: i64) -> String {
        format!("{PREFIX}user:{user_id}")
    }

    /// The hex of a session ID's hash: its name in Redis.
    fn member(id_hash: &[u8]) -> String {
        hex(id_hash)
    }

    fn unhex(member: &str) -> Option<Vec<u8>> {
        member
            .len()
            .is_multiple_of(2)
            .then(|| {
                (0..member.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(member.get(at..at + 2)?, 16).ok())
                    .collect()
            })
            .flatten()
    }

    /// The entry and role of the session whose ID hashes to `id_hash`, if it is live.
    async fn live_entry(&self, id_hash: &[u8]) -> Result<Option<(Entry, Option<String>)>> {
        let (entry, role): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(Self::session_key(&Self::member(id_hash)))
            .arg("entry")
            .arg("role")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        let entry = Entry::read(&entry)?;
        Ok((entry.expires_at > self.clock.now()).then_some((entry, role)))
    }

    /// Deletes sessions of `user_id`: the one named `public_id`, or all others.
    async fn delete_of_user(&self, user_id: i64, public_id: &str, which: &str) -> Result<u64> {
        DELETE_OF_USER
            .key(Self::user_key(user_id))
            .arg(Self::session_key(""))
            .arg(public_id)
            .arg(which)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)
    }
}

/// A Redis failure as the store reports it: unreachable Redis (the app answers 503), or
/// anything else (a bug: 500).
fn failed(error: RedisError) -> Error {
    if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
    {
        unavailable(&error)
    } else {
        Error::Backend(error.to_string())
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let role = SessionState::of(record)?.role;
        create_with_fresh_id(record, |row, data| {
            let role = role.clone();
            async move {
                let member = Self::member(&row.id_hash);
                let created: i64 = CREATE
                    .key(Self::session_key(&member))
                    .key(Self::user_key(row.user_id))
                    .arg(Entry::of(&row, data).json()?)
                    .arg(role)
                    .arg(row.user_id)
                    .arg(&row.public_id)
                    .arg(&member)
                    .arg(row.expires_at)
                    .arg(row.expires_at.saturating_mul(1000))
                    .invoke_async(&mut self.connection.clone())
                    .await
                    .map_err(failed)?;
                Ok(created == 1)
            }
        })
        .await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (row, data) = entry_of(record)?;
        let member = Self::member(&row.id_hash);
        // Nothing written means the session ended meanwhile; it stays ended.
        let _: i64 = SAVE
            .key(Self::session_key(&member))
            .key(Self::user_key(row.user_id))
            .arg(Entry::of(&row, data).json()?)
            .arg(&member)
            .arg(row.expires_at)
            .arg(row.expires_at.saturating_mul(1000))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some((entry, role)) = self.live_entry(&hash_session_id(id)).await? else {
            return Ok(None);
        };
        // The role beside the entry is the one an administrator set last.
        let data = match role {
            Some(role) => with_role(&entry.data, &role)?,
            None => entry.data,
        };
        record_of(id, &data, entry.expires_at).map(Some)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let member = Self::member(&hash_session_id(id));
        let _: i64 = DELETE
            .key(Self::session_key(&member))
            .arg(PREFIX)
            .arg(&member)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }
}

#[async_trait]
impl SessionBackend for RedisSessionStore {
    fn kind(&self) -> SessionStoreKind {
        SessionStoreKind::Redis
    }

    async fn live_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>> {
        Ok(self
            .live_entry(id_hash)
            .await?
            .map(|(entry, _)| entry.row(id_hash.to_vec())))
    }

    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        let flat: Vec<String> = LIST
            .key(Self::user_key(user_id))
            .arg(Self::session_key(""))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        let now = self.clock.now();
        let mut rows = Vec::with_capacity(flat.len() / 3);
        for triple in flat.chunks_exact(3) {
            let (Some(id_hash), entry) = (Self::unhex(&triple[0]), Entry::read(&triple[1])?) else {
                continue;
            };
            if entry.user_id == user_id && entry.expires_at > now {
                rows.push(entry.row(id_hash));
            }
        }
        rows.sort_by_key(|row| std::cmp::Reverse((row.last_seen_at, row.created_at)));
        Ok(rows)
    }

    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool> {
        Ok(self.delete_of_user(user_id, public_id, "one").await? > 0)
    }

    async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64> {
        // Public ids are never empty: an empty one keeps nothing.
        self.delete_of_user(user_id, keep.unwrap_or_default(), "others")
            .await
    }

    async fn delete_expired(&self) -> Result<u64> {
        // Redis forgets expired sessions by itself; this also clears them out of the user
        // indexes, and deletes what the app's clock says has expired (a test's clock may run
        // ahead of Redis's).
        let now = self.clock.now();
        let mut connection = self.connection.clone();
        let mut cursor = 0_u64;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{PREFIX}user:*"))
                .arg("COUNT")
                .arg(500)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            for key in keys {
                let swept: u64 = SWEEP
                    .key(key)
                    .arg(Self::session_key(""))
                    .arg(now)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(failed)?;
                deleted += swept;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64> {
        SET_ROLE
            .key(Self::user_key(user_id))
            .arg(Self::session_key(""))
            .arg(role)
            .arg(self.clock.now())
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)
    }

    async fn ping(&self) -> Result<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn footprint(&self) -> Result<SessionFootprint> {
        let (sampled, bytes): (u64, u64) = FOOTPRINT
            .arg(PREFIX)
            .arg(FOOTPRINT_SAMPLE)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(SessionFootprint {
            bytes_per_session: bytes.checked_div(sampled).unwrap_or(0),
            sessions: None,
            measured_over: sampled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RedisSessionStore;

    #[test]
    fn a_hash_is_named_in_hex_and_read_back() {
        let hash = vec![0x00, 0xab, 0x10, 0xff];
        let member = RedisSessionStore::member(&hash);
        assert_eq!(member, "00ab10ff");
        assert_eq!(RedisSessionStore::unhex(&member), Some(hash));
        assert_eq!(RedisSessionStore::unhex("abc"), None);
        assert_eq!(RedisSessionStore::unhex("zz"), None);
    }
}
