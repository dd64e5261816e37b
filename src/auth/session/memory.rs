//! The desk: cookie sessions in this process's memory. Fast, and gone at the next restart.

use std::{collections::HashMap, sync::Mutex};

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
        lock(&self.entries)
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

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64> {
        let now = self.clock.now();
        let mut changed = 0;
        for (row, data) in self.entries().values_mut() {
            if row.user_id == user_id && row.expires_at > now {
                *data = with_role(data, role)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
