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
    model::{SessionFootprint, SessionStoreKind},
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

/// Session data as the desk keeps it, at its length: JSON written into a growing `String` may
/// hold up to twice the bytes it needs, for as long as the session lives.
fn kept(mut data: String) -> String {
    data.shrink_to_fit();
    data
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
        self.by_hash.insert(row.id_hash.clone(), (row, kept(data)));
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

/// How many sessions the memory store's estimate looks at: enough for a steady mean, few
/// enough that the lock is held for microseconds at a million sessions.
const FOOTPRINT_SAMPLE: usize = 1000;

/// What the server's allocator (mimalloc) hands out for `requested` bytes: no header, blocks
/// in steps of 8 bytes up to 64, then four sizes per doubling; nothing for an empty `Vec` or
/// `String`, which allocates nothing.
fn allocated(requested: usize) -> usize {
    match requested {
        0 => 0,
        1..=64 => requested.next_multiple_of(8),
        _ => {
            let step = (requested.next_power_of_two() / 8).max(8);
            requested.next_multiple_of(step)
        }
    }
}

/// The bytes of a hash table that can hold `capacity` entries of `T` without growing: its
/// buckets (a power of two, at most seven eighths full) with one control byte each.
fn table<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    allocated(buckets * (size_of::<T>() + 1) + 16)
}

impl Entries {
    /// Bytes per session as the allocator holds them: the three maps' tables shared out over
    /// the sessions, and over a sample of sessions each one's own allocations (its key, its
    /// row's strings, its data, the copies the two indexes keep, its share of its user's set).
    /// An estimate: the process's resident memory, which `make bench-scale` measures, also
    /// pays for the allocator's fragmentation.
    fn footprint(&self) -> SessionFootprint {
        let sessions = self.by_hash.len();
        let tables = table::<(Vec<u8>, (SessionRow, String))>(self.by_hash.capacity())
            + table::<String>(self.public_ids.capacity())
            + table::<(i64, HashSet<Vec<u8>>)>(self.by_user.capacity());
        let mut sampled = 0;
        let mut own = 0;
        for (key, (row, data)) in self.by_hash.iter().take(FOOTPRINT_SAMPLE) {
            let user_set = self.by_user.get(&row.user_id).map_or(0, |set| {
                table::<Vec<u8>>(set.capacity()) / set.len().max(1) + allocated(key.capacity())
            });
            own += allocated(key.capacity())
                + allocated(row.id_hash.capacity())
                + 2 * allocated(row.public_id.capacity())
                + allocated(row.device.capacity())
                + allocated(row.ip.capacity())
                + allocated(data.capacity())
                + user_set;
            sampled += 1;
        }
        let per_session =
            tables.checked_div(sessions).unwrap_or(0) + own.checked_div(sampled).unwrap_or(0);
        SessionFootprint {
            bytes_per_session: per_session as u64,
            sessions: Some(sessions as u64),
            measured_over: sampled as u64,
        }
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
            *stored_data = kept(data);
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

    async fn footprint(&self) -> Result<SessionFootprint> {
        Ok(self.entries().footprint())
    }

    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64> {
        let now = self.clock.now();
        let mut entries = self.entries();
        let mut changed = 0;
        for hash in entries.of_user(user_id) {
            if let Some((row, data)) = entries.by_hash.get_mut(&hash)
                && row.expires_at > now
            {
                *data = kept(with_role(data, role)?);
                changed += 1;
            }
        }
        Ok(changed)
    }
}
