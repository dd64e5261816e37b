//! Where cookie sessions are kept: the tower-sessions store, ours, in SQLite or in memory.
//!
//! Owning the store, instead of using a stock one, buys three properties the stock stores lack:
//! - sessions are queryable by user (the devices page) because each entry carries its user,
//!   device, IP and times, derived from the typed [`SessionState`] at every write;
//! - only the SHA-256 of a session ID is kept, so a copy of the store rides no session;
//! - `save` only ever updates a live entry: a session killed while a slow request still held it
//!   is not written back to life when that request finishes.
//!
//! Two backends keep them: SQLite ([`super::sql`], the "drawer": sessions survive a restart)
//! and memory ([`super::memory`], the "desk": a restart signs every cookie-session user out),
//! chosen with `SESSION_STORE`.

use async_trait::async_trait;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

#[cfg(doc)]
use super::state::SessionState;
use super::state::entry_of;
use crate::{
    db::SessionRow,
    error::STORE_UNAVAILABLE,
    model::{SessionFootprint, SessionStoreKind},
};

/// A session store that can also answer the devices page. Every read ignores expired sessions.
#[async_trait]
pub trait SessionBackend: SessionStore {
    fn kind(&self) -> SessionStoreKind;

    async fn live_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>>;

    /// A user's live sessions, most recently active first.
    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>>;

    /// Deletes one of `user_id`'s sessions; `false` if they have no such session.
    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool>;

    /// Deletes all of `user_id`'s sessions but `keep`.
    async fn delete_sessions_of_user_except(&self, user_id: i64, keep: Option<&str>)
    -> Result<u64>;

    /// The sweeper: removes expired sessions.
    async fn delete_expired(&self) -> Result<u64>;

    /// Writes `role` into every live session of `user_id` (an administrator changed it), so
    /// that each one's next request carries it; returns how many.
    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64>;

    /// Whether the store answers now (`/readyz`).
    async fn ping(&self) -> Result<()>;

    /// What the store spends per session, as it counts itself (the compare page).
    async fn footprint(&self) -> Result<SessionFootprint>;
}

/// The error for a store that cannot be reached (Redis down), `cause` kept for the log: the
/// app answers it with a 503 and `Retry-After`, not a 500, and signs nobody out.
pub fn unavailable(cause: &dyn std::fmt::Display) -> Error {
    Error::Backend(format!("{STORE_UNAVAILABLE}: {cause}"))
}

/// A 128-bit random ID practically never collides; a few attempts settle the rest. Always a
/// fresh ID, whatever the record carried: no ID chosen by a client is ever stored (fixation).
pub(super) async fn create_with_fresh_id<F, Fut>(record: &mut Record, mut insert: F) -> Result<()>
where
    F: FnMut(SessionRow, String) -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    for _ in 0..4 {
        record.id = Id::default();
        let (row, data) = entry_of(record)?;
        if insert(row, data).await? {
            return Ok(());
        }
    }
    Err(Error::Backend("no free session id after 4 attempts".into()))
}

#[cfg(test)]
#[path = "../../../tests/support/redis_server.rs"]
mod redis_server;

#[cfg(test)]
#[path = "../../../tests/support/postgres.rs"]
mod postgres;

#[cfg(test)]
mod tests {
    use super::{postgres, redis_server::RedisServer};
    use std::{collections::HashMap, sync::Arc};

    use time::OffsetDateTime;

    use super::*;
    use crate::{
        auth::session::{
            memory::MemorySessionStore,
            redis::RedisSessionStore,
            sql::SqlSessionStore,
            state::{STATE_KEY, SessionState, hash_session_id},
        },
        core::clock::Clock,
        db::Db,
    };

    const NOW: i64 = 1_800_000_000;

    fn record(user_id: i64, device_id: &str, last_seen_at: i64, expires_at: i64) -> Record {
        let state = SessionState {
            user_id,
            username: format!("user{user_id}"),
            role: "user".into(),
            device_id: device_id.into(),
            device: "Firefox 130 on Linux".into(),
            ip: "127.0.0.1".into(),
            signed_in_at: NOW,
            last_seen_at,
            remembered: true,
        };
        let mut data = HashMap::new();
        data.insert(STATE_KEY.to_owned(), serde_json::to_value(state).unwrap());
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).unwrap(),
        }
    }

    /// What the stores need kept alive while a test runs: the SQLite file's folder, a Redis.
    type Kept = (tempfile::TempDir, RedisServer);

    /// A database with the two users the tests' sessions belong to.
    async fn database_with_users(url: &str) -> Db {
        let db = Db::open(url).await.unwrap();
        for name in ["user1", "user2"] {
            db.insert_user(name, "$argon2id$not-a-real-hash", NOW)
                .await
                .unwrap();
        }
        db
    }

    /// Every store, the same clock standing at NOW: SQLite, memory, Redis, and PostgreSQL when
    /// the run has a cluster (`make test` always does; a bare `cargo test` says it skipped it).
    async fn stores() -> (Kept, Vec<Arc<dyn SessionBackend>>) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite =
            database_with_users(&format!("sqlite://{}", dir.path().join("s.db").display())).await;
        let clock = Clock::frozen_at(NOW);
        let redis = RedisServer::start();
        let mut stores: Vec<Arc<dyn SessionBackend>> = vec![
            Arc::new(SqlSessionStore::new(sqlite, clock.clone())),
            Arc::new(MemorySessionStore::new(clock.clone())),
            Arc::new(RedisSessionStore::open(&redis.url(), clock.clone()).unwrap()),
        ];
        if postgres::available() {
            let url = postgres::fresh_database_url().await;
            let postgres = database_with_users(&url).await;
            stores.push(Arc::new(SqlSessionStore::new(postgres, clock)));
        } else {
            eprintln!("PostgreSQL store skipped: no cluster (run under .ci/with-postgres)");
        }
        ((dir, redis), stores)
    }

    #[tokio::test]
    async fn every_store_never_brings_a_deleted_session_back() {
        let (_kept, stores) = stores().await;
        for store in stores {
            let mut first = record(1, "a", NOW, NOW + 100);
            store.create(&mut first).await.unwrap();
            let read_by_a_slow_request = store.load(&first.id).await.unwrap().unwrap();
            assert!(store.delete_session_of_user(1, "a").await.unwrap());
            store.save(&read_by_a_slow_request).await.unwrap();
            assert!(
                store.load(&first.id).await.unwrap().is_none(),
                "{:?}",
                store.kind()
            );
            assert!(store.live_sessions_of_user(1).await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn every_store_picks_its_own_ids_and_key_entries_by_hash() {
        let (_kept, stores) = stores().await;
        for store in stores {
            let mut planted = record(1, "a", NOW, NOW + 100);
            let chosen = planted.id;
            store.create(&mut planted).await.unwrap();
            assert_ne!(planted.id, chosen, "{:?}", store.kind());
            assert!(store.load(&chosen).await.unwrap().is_none());
            let row = store
                .live_session(&hash_session_id(&planted.id))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.id_hash, hash_session_id(&planted.id));
        }
    }

    #[tokio::test]
    async fn every_store_hides_expired_sessions_and_sweep_them() {
        let (_kept, stores) = stores().await;
        for store in stores {
            let mut live = record(1, "live", NOW, NOW + 1);
            let mut expired = record(1, "expired", NOW, NOW);
            store.create(&mut live).await.unwrap();
            store.create(&mut expired).await.unwrap();
            assert!(
                store.load(&expired.id).await.unwrap().is_none(),
                "{:?}",
                store.kind()
            );
            let listed = store.live_sessions_of_user(1).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(store.delete_expired().await.unwrap(), 1);
        }
    }

    #[tokio::test]
    async fn every_store_lists_by_activity_and_kill_only_the_users_own() {
        let (_kept, stores) = stores().await;
        for store in stores {
            for (user, device, seen) in [(1, "old", NOW - 60), (1, "new", NOW), (2, "other", NOW)] {
                store
                    .create(&mut record(user, device, seen, NOW + 100))
                    .await
                    .unwrap();
            }
            let listed: Vec<String> = store
                .live_sessions_of_user(1)
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.public_id)
                .collect();
            assert_eq!(listed, ["new", "old"], "{:?}", store.kind());
            assert!(!store.delete_session_of_user(1, "other").await.unwrap());
            assert_eq!(
                store
                    .delete_sessions_of_user_except(1, Some("new"))
                    .await
                    .unwrap(),
                1
            );
            assert_eq!(store.live_sessions_of_user(2).await.unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn every_store_rewrites_a_sessions_role_and_no_save_undoes_it() {
        let (_kept, stores) = stores().await;
        for store in stores {
            let mut session = record(1, "a", NOW, NOW + 100);
            store.create(&mut session).await.unwrap();
            store
                .create(&mut record(2, "b", NOW, NOW + 100))
                .await
                .unwrap();
            let read_by_a_slow_request = store.load(&session.id).await.unwrap().unwrap();

            assert_eq!(store.set_role_of_user(1, "admin").await.unwrap(), 1);
            store.save(&read_by_a_slow_request).await.unwrap();

            let role = |record: Record| SessionState::of(&record).unwrap().role;
            let now = store.load(&session.id).await.unwrap().unwrap();
            assert_eq!(role(now), "admin", "{:?}", store.kind());
            assert_eq!(store.live_sessions_of_user(2).await.unwrap().len(), 1);
        }
    }

    /// Each store counts what a session costs it: over every session it holds (or a sample
    /// of them), and more when sessions carry more.
    #[tokio::test]
    async fn every_store_counts_what_its_sessions_cost_it() {
        let (_kept, stores) = stores().await;
        // Random, so that PostgreSQL's compression of large values cannot shrink it.
        let padding = crate::core::ids::hex(&crate::core::ids::random_bytes(5_000));
        for store in stores {
            let kind = store.kind();
            for device in 0..10 {
                let mut light = record(1, &format!("light{device}"), NOW, NOW + 100);
                store.create(&mut light).await.unwrap();
            }
            let light = store.footprint().await.unwrap();
            assert_eq!(light.measured_over, 10, "{kind:?}");
            assert!(matches!(light.sessions, Some(10) | None), "{kind:?}");
            assert!(light.bytes_per_session > 200, "{kind:?}: {light:?}");

            store.delete_sessions_of_user_except(1, None).await.unwrap();
            for device in 0..10 {
                let mut heavy = record(1, &format!("heavy{device}"), NOW, NOW + 100);
                heavy
                    .data
                    .insert("padding".into(), serde_json::Value::String(padding.clone()));
                store.create(&mut heavy).await.unwrap();
            }
            let heavy = store.footprint().await.unwrap();
            assert_eq!(heavy.measured_over, 10, "{kind:?}");
            assert!(
                heavy.bytes_per_session >= light.bytes_per_session + 9_000,
                "{kind:?}: {light:?}, then {heavy:?}"
            );
        }
    }

    /// The connection manager reconnects by itself: the first calls after a restart may still
    /// find the old connection broken, and start the reconnection.
    async fn assert_reconnects(store: &RedisSessionStore) {
        for _ in 0..20 {
            if store.ping().await.is_ok() {
                return;
            }
        }
        panic!("the store did not reconnect within 20 calls");
    }

    /// What a restart of Redis itself costs (it was killed, as a crash would): every session
    /// without an append-only file; nothing with one, the devices index and expiry included.
    #[tokio::test]
    async fn a_restarted_redis_keeps_sessions_only_with_its_append_only_file() {
        for (mut redis, kept) in [
            (RedisServer::start(), false),
            (RedisServer::start_append_only(), true),
        ] {
            let clock = Clock::frozen_at(NOW);
            let store = RedisSessionStore::open(&redis.url(), clock).unwrap();
            let mut session = record(1, "a", NOW, NOW + 100);
            store.create(&mut session).await.unwrap();

            redis.restart();
            assert_reconnects(&store).await;

            let loaded = store.load(&session.id).await.unwrap();
            assert_eq!(loaded.is_some(), kept, "append-only: {kept}");
            let devices = store.live_sessions_of_user(1).await.unwrap();
            assert_eq!(devices.len(), usize::from(kept));
            if let Some(loaded) = loaded {
                assert_eq!(loaded.expiry_date, session.expiry_date);
                assert_eq!(loaded.data, session.data);
            }
        }
    }

    #[tokio::test]
    async fn two_servers_on_one_redis_share_sessions_and_an_outage_is_reported_not_hidden() {
        let mut redis = RedisServer::start();
        let clock = Clock::frozen_at(NOW);
        let first = RedisSessionStore::open(&redis.url(), clock.clone()).unwrap();
        let second = RedisSessionStore::open(&redis.url(), clock).unwrap();
        let mut session = record(1, "a", NOW, NOW + 100);
        first.create(&mut session).await.unwrap();
        assert!(second.load(&session.id).await.unwrap().is_some());
        second.delete(&session.id).await.unwrap();
        assert!(first.load(&session.id).await.unwrap().is_none());

        redis.stop();
        let down = first.load(&session.id).await.unwrap_err();
        assert_eq!(
            crate::error::AppError::from(down),
            crate::error::AppError::StoreUnavailable
        );
        assert!(first.ping().await.is_err());

        redis.restart();
        assert_reconnects(&first).await;
        first
            .create(&mut record(1, "b", NOW, NOW + 100))
            .await
            .unwrap();
    }
}
