//! Where cookie sessions are kept: the tower-sessions store, ours, in SQLite or in memory.
//!
//! Owning the store, instead of using a stock one, buys three properties the stock stores lack:
//! - sessions are queryable by user (the devices page) because each entry carries its user,
//!   device, IP and times, derived from the typed [`SessionState`] at every write;
//! - only the SHA-256 of a session ID is kept, so a copy of the store rides no session;
//! - `save` only ever updates a live entry: a session killed while a slow request still held it
//!   is not written back to life when that request finishes.
//!
//! Two backends keep them: SQLite (the "drawer": sessions survive a restart) and memory (the
//! "desk": a restart signs every cookie-session user out), chosen with `SESSION_STORE`.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

use crate::{
    db::{Db, SessionRow, SessionRowUpdate},
    model::SessionStoreKind,
    server::clock::Clock,
};

/// The key under which [`SessionState`] sits in a session's data.
pub const STATE_KEY: &str = "ticketbooth";

/// Everything a cookie session knows about its user and browser.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    /// The session's public id on the devices page.
    pub device_id: String,
    pub device: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

impl SessionState {
    fn of(record: &Record) -> Result<Self> {
        let value = record
            .data
            .get(STATE_KEY)
            .ok_or_else(|| Error::Encode("only signed-in sessions are stored".into()))?;
        serde_json::from_value(value.clone()).map_err(|error| Error::Encode(error.to_string()))
    }
}

/// SHA-256 of the session ID's 16 random bytes: the entry's key.
pub fn hash_session_id(id: &Id) -> Vec<u8> {
    Sha256::digest(id.0.to_le_bytes()).to_vec()
}

/// What a record becomes in a store: its row and its data.
fn entry_of(record: &Record) -> Result<(SessionRow, String)> {
    let state = SessionState::of(record)?;
    let data =
        serde_json::to_string(&record.data).map_err(|error| Error::Encode(error.to_string()))?;
    let row = SessionRow {
        id_hash: hash_session_id(&record.id),
        public_id: state.device_id,
        user_id: state.user_id,
        device: state.device,
        ip: state.ip,
        created_at: state.signed_in_at,
        last_seen_at: state.last_seen_at,
        expires_at: record.expiry_date.unix_timestamp(),
    };
    Ok((row, data))
}

fn record_of(id: &Id, data: &str, expires_at: i64) -> Result<Record> {
    Ok(Record {
        id: *id,
        data: serde_json::from_str(data).map_err(|error| Error::Decode(error.to_string()))?,
        expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|error| Error::Decode(error.to_string()))?,
    })
}

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
}

/// The store the session layer and the session mode share.
#[derive(Clone)]
pub struct SharedSessionStore(pub Arc<dyn SessionBackend>);

impl fmt::Debug for SharedSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedSessionStore({:?})", self.0.kind())
    }
}

#[async_trait]
impl SessionStore for SharedSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.0.create(record).await
    }
    async fn save(&self, record: &Record) -> Result<()> {
        self.0.save(record).await
    }
    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        self.0.load(id).await
    }
    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.delete(id).await
    }
}

/// A 128-bit random ID practically never collides; a few attempts settle the rest. Always a
/// fresh ID, whatever the record carried: no ID chosen by a client is ever stored (fixation).
async fn create_with_fresh_id<F, Fut>(record: &mut Record, mut insert: F) -> Result<()>
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

/// The drawer: sessions in the `sessions` table.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    db: Db,
    clock: Clock,
}

impl SqlSessionStore {
    pub fn new(db: Db, clock: Clock) -> Self {
        SqlSessionStore { db, clock }
    }
}

fn backend(error: sqlx::Error) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        create_with_fresh_id(record, |row, data| async move {
            self.db.insert_session(&row, &data).await.map_err(backend)
        })
        .await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (row, data) = entry_of(record)?;
        let update = SessionRowUpdate {
            ip: &row.ip,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            data: &data,
        };
        // Nothing updated means the session ended meanwhile; it stays ended.
        self.db
            .update_live_session(&row.id_hash, &update, self.clock.now())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let found = self
            .db
            .live_session_data(&hash_session_id(id), self.clock.now())
            .await
            .map_err(backend)?;
        found
            .map(|(data, expires_at)| record_of(id, &data, expires_at))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.db
            .delete_session(&hash_session_id(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl SessionBackend for SqlSessionStore {
    fn kind(&self) -> SessionStoreKind {
        SessionStoreKind::Sqlite
    }

    async fn live_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>> {
        self.db
            .live_session(id_hash, self.clock.now())
            .await
            .map_err(backend)
    }

    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        self.db
            .live_sessions_of_user(user_id, self.clock.now())
            .await
            .map_err(backend)
    }

    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool> {
        self.db
            .delete_session_of_user(user_id, public_id)
            .await
            .map_err(backend)
    }

    async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64> {
        self.db
            .delete_sessions_of_user_except(user_id, keep)
            .await
            .map_err(backend)
    }

    async fn delete_expired(&self) -> Result<u64> {
        self.db
            .delete_expired_sessions(self.clock.now())
            .await
            .map_err(backend)
    }
}

/// The desk: sessions in this process's memory, gone at the next restart. Same rules as the
/// drawer: hashed keys, no resurrection on save, expired entries invisible.
#[derive(Debug)]
pub struct MemorySessionStore {
    entries: Mutex<HashMap<Vec<u8>, (SessionRow, String)>>,
    clock: Clock,
}

impl MemorySessionStore {
    pub fn new(clock: Clock) -> Self {
        MemorySessionStore {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (SessionRow, String)>> {
        // A panic while holding the lock leaves a map that is still consistent entry by entry.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        create_with_fresh_id(record, |row, data| async move {
            let mut entries = self.entries();
            if entries
                .values()
                .any(|(other, _)| other.public_id == row.public_id)
                || entries.contains_key(&row.id_hash)
            {
                return Ok(false);
            }
            entries.insert(row.id_hash.clone(), (row, data));
            Ok(true)
        })
        .await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (row, data) = entry_of(record)?;
        let now = self.clock.now();
        if let Some((stored, stored_data)) = self
            .entries()
            .get_mut(&row.id_hash)
            .filter(|(stored, _)| stored.expires_at > now)
        {
            stored.ip = row.ip;
            stored.last_seen_at = row.last_seen_at;
            stored.expires_at = row.expires_at;
            *stored_data = data;
        }
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let now = self.clock.now();
        let found = self
            .entries()
            .get(&hash_session_id(id))
            .filter(|(row, _)| row.expires_at > now)
            .map(|(row, data)| (data.clone(), row.expires_at));
        found
            .map(|(data, expires_at)| record_of(id, &data, expires_at))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.entries().remove(&hash_session_id(id));
        Ok(())
    }
}

#[async_trait]
impl SessionBackend for MemorySessionStore {
    fn kind(&self) -> SessionStoreKind {
        SessionStoreKind::Memory
    }

    async fn live_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>> {
        let now = self.clock.now();
        Ok(self
            .entries()
            .get(id_hash)
            .filter(|(row, _)| row.expires_at > now)
            .map(|(row, _)| row.clone()))
    }

    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        let now = self.clock.now();
        let mut rows: Vec<SessionRow> = self
            .entries()
            .values()
            .filter(|(row, _)| row.user_id == user_id && row.expires_at > now)
            .map(|(row, _)| row.clone())
            .collect();
        rows.sort_by_key(|row| std::cmp::Reverse((row.last_seen_at, row.created_at)));
        Ok(rows)
    }

    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, (row, _)| !(row.user_id == user_id && row.public_id == public_id));
        Ok(entries.len() < before)
    }

    async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64> {
        let mut entries = self.entries();
        let before = entries.len();
        entries
            .retain(|_, (row, _)| row.user_id != user_id || Some(row.public_id.as_str()) == keep);
        Ok((before - entries.len()) as u64)
    }

    async fn delete_expired(&self) -> Result<u64> {
        let now = self.clock.now();
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, (row, _)| row.expires_at > now);
        Ok((before - entries.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let mut data = HashMap::new();
        data.insert(STATE_KEY.to_owned(), serde_json::to_value(state).unwrap());
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at).unwrap(),
        }
    }

    /// Both stores, the same clock standing at NOW.
    async fn stores() -> (tempfile::TempDir, Vec<Arc<dyn SessionBackend>>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        for name in ["user1", "user2"] {
            db.insert_user(name, "$argon2id$not-a-real-hash", NOW)
                .await
                .unwrap();
        }
        let clock = Clock::frozen_at(NOW);
        let stores: Vec<Arc<dyn SessionBackend>> = vec![
            Arc::new(SqlSessionStore::new(db, clock.clone())),
            Arc::new(MemorySessionStore::new(clock)),
        ];
        (dir, stores)
    }

    #[tokio::test]
    async fn both_stores_never_bring_a_deleted_session_back() {
        let (_dir, stores) = stores().await;
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
    async fn both_stores_pick_their_own_ids_and_key_entries_by_hash() {
        let (_dir, stores) = stores().await;
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
    async fn both_stores_hide_expired_sessions_and_sweep_them() {
        let (_dir, stores) = stores().await;
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
    async fn both_stores_list_by_activity_and_kill_only_the_users_own() {
        let (_dir, stores) = stores().await;
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
}
