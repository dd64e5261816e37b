//! The desk: cookie sessions in this process's memory. Fast, and gone at the next restart.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
};

use async_trait::async_trait;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::Result,
};

use super::{
    state::{entry_of, hash_session_id, record_of, role_in, with_role},
    store::{SessionBackend, create_with_fresh_id},
};
use crate::{
    core::{clock::Clock, sync::lock},
    db::SessionRow,
    model::SessionStoreKind,
};

/// The desk: sessions in this process's memory, gone at the next restart. Same rules as the
/// drawer: hashed keys, no resurrection on save, expired entries invisible.
#[derive(Debug)]
pub struct MemorySessionStore {
    entries: Mutex<Entries>,
    clock: Clock,
}

/// The sessions by their ID's hash, with the two indexes the drawer has too: by user (the
/// devices page reads a user's sessions, never all of them) and the public ids in use (a new
/// one is checked without a scan). Every change goes through [`Entries::insert`] and
/// [`Entries::remove`], which keep the three in step.
#[derive(Debug, Default)]
struct Entries {
    by_hash: HashMap<Vec<u8>, (SessionRow, String)>,
    by_user: HashMap<i64, HashSet<Vec<u8>>>,
    public_ids: HashSet<String>,
}

impl Entries {
    /// Stores a session; `false` if its hash or public id is taken.
    fn insert(&mut self, row: SessionRow, data: String) -> bool {
        if self.by_hash.contains_key(&row.id_hash) || self.public_ids.contains(&row.public_id) {
            return false;
        }
        self.public_ids.insert(row.public_id.clone());
        self.by_user
            .entry(row.user_id)
            .or_default()
            .insert(row.id_hash.clone());
        self.by_hash.insert(row.id_hash.clone(), (row, data));
        true
    }

    /// Removes a session; whether there was one.
    fn remove(&mut self, id_hash: &[u8]) -> bool {
        let Some((row, _)) = self.by_hash.remove(id_hash) else {
            return false;
        };
        self.public_ids.remove(&row.public_id);
        if let Some(hashes) = self.by_user.get_mut(&row.user_id) {
            hashes.remove(id_hash);
            if hashes.is_empty() {
                self.by_user.remove(&row.user_id);
            }
        }
        true
    }

    /// The hashes of `user_id`'s sessions, expired or not.
    fn of_user(&self, user_id: i64) -> Vec<Vec<u8>> {
        self.by_user
            .get(&user_id)
            .map(|hashes| hashes.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes the sessions of `user_id` that `pick` picks; how many.
    fn remove_of_user(&mut self, user_id: i64, pick: impl Fn(&SessionRow) -> bool) -> u64 {
        let mut removed = 0;
        for hash in self.of_user(user_id) {
            if self.by_hash.get(&hash).is_some_and(|(row, _)| pick(row)) && self.remove(&hash) {
                removed += 1;
            }
        }
        removed
    }
}

impl MemorySessionStore {
    pub fn new(clock: Clock) -> Self {
        MemorySessionStore {
            entries: Mutex::default(),
            clock,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves maps that are still consistent entry by entry.
        lock(&self.entries)
    }

    /// How many sessions it holds, live or expired (the scale bench).
    pub fn len(&self) -> usize {
        self.entries().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        create_with_fresh_id(record, |row, data| async move {
            Ok(self.entries().insert(row, data))
        })
        .await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (row, data) = entry_of(record)?;
        let now = self.clock.now();
        if let Some((stored, stored_data)) = self
            .entries()
            .by_hash
            .get_mut(&row.id_hash)
            .filter(|(stored, _)| stored.expires_at > now)
        {
            // The role stays as stored: only an administrator's change writes it.
            let data = match role_in(stored_data) {
                Some(role) => with_role(&data, &role)?,
                None => data,
            };
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
            .by_hash
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
            .by_hash
            .get(id_hash)
            .filter(|(row, _)| row.expires_at > now)
            .map(|(row, _)| row.clone()))
    }

    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        let now = self.clock.now();
        let entries = self.entries();
        let mut rows: Vec<SessionRow> = entries
            .of_user(user_id)
            .iter()
            .filter_map(|hash| entries.by_hash.get(hash))
            .filter(|(row, _)| row.expires_at > now)
            .map(|(row, _)| row.clone())
            .collect();
        rows.sort_by_key(|row| std::cmp::Reverse((row.last_seen_at, row.created_at)));
        Ok(rows)
    }

    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool> {
        Ok(self
            .entries()
            .remove_of_user(user_id, |row| row.public_id == public_id)
            > 0)
    }

    async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64> {
        Ok(self
            .entries()
            .remove_of_user(user_id, |row| Some(row.public_id.as_str()) != keep))
    }

    async fn delete_expired(&self) -> Result<u64> {
        // The sweeper's scan of everything, once in a while: the requests never scan.
        let now = self.clock.now();
        let mut entries = self.entries();
        let expired: Vec<Vec<u8>> = entries
            .by_hash
            .iter()
            .filter(|(_, (row, _))| row.expires_at <= now)
            .map(|(hash, _)| hash.clone())
            .collect();
        let mut removed = 0;
        for hash in expired {
            if entries.remove(&hash) {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64> {
        let now = self.clock.now();
        let mut entries = self.entries();
        let mut changed = 0;
        for hash in entries.of_user(user_id) {
            if let Some((row, data)) = entries.by_hash.get_mut(&hash)
                && row.expires_at > now
            {
                *data = with_role(data, role)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
