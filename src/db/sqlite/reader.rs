//! The reads that must not wait for another thread: the lookup every request of a cookie
//! session makes, and the family check every request of a JWT makes in `session-check`.
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is handed to that thread
//! and its answer handed back, two thread wake-ups that cost most of a session recognition on
//! this project's machine, for a primary-key read SQLite itself does in about 1 µs. This reader
//! runs the same queries (`sql/*.sql`, the pool's own, checked at compile time there) on the
//! thread that asks, over a read-only connection each thread opens once and keeps.
//! It reads the same file in WAL mode and sees every committed write: a session killed or signed
//! out is gone for the very next request, from this server or any other on the same file.
//!
//! Under load on both cores even that read costs a page more than it should (two threads take
//! turns at SQLite's lock on the WAL index, a system call each way), so the reader also keeps
//! the live sessions it has read, each with the change counters it was read under
//! (`generations.rs`): a session is served from here only while no write to it, from any
//! process on the file, has committed since. A kill bumps the counters before it answers, so
//! the killed browser's next request reads the table again and finds nothing.

use std::{
    cell::RefCell,
    collections::HashMap,
    path::PathBuf,
    sync::RwLock,
    time::{Duration, Instant},
};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::generations::{Changed, Generations, Stamp};
use crate::core::sync::{read_lock, write_lock};

const LIVE_SESSION_DATA: &str = include_str!("sql/live_session_data.sql");
const LIVE_FAMILY_ROLE: &str = include_str!("sql/live_family_role.sql");

/// A reader cannot wait long: a read in WAL mode waits only while the file recovers from a
/// crash, and the pool answers instead when it does.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

/// The longest a kept session is used without reading the table again. The change counters
/// make kills exact without it; it bounds what they cannot see: a write by anything but
/// ticketbooth (the `sqlite3` shell, a restored backup), or a server killed between a write's
/// commit and its mark. A busy session is written about as often anyway (`last_seen_at`).
const KEPT_AT_MOST: Duration = Duration::from_secs(60);

/// Sessions kept at most; one more empties the cache (a few MB at most, however many browsers).
const MOST_KEPT: usize = 10_000;

thread_local! {
    /// This thread's read-only connections, one per database file.
    static CONNECTIONS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

/// A live session as the table held it, and when and under which counters it was read.
#[derive(Debug)]
struct Kept {
    data: String,
    expires_at: i64,
    stamp: Stamp,
    read_at: Instant,
}

/// The live sessions read lately, and the counters that say whether each is still as read.
#[derive(Debug)]
struct SessionCache {
    generations: Generations,
    kept: RwLock<HashMap<Vec<u8>, Kept>>,
}

/// Reads a database file directly, from whichever thread asks.
#[derive(Debug)]
pub(super) struct Reader {
    /// `None` for an in-memory database, which only the pool's connection can see.
    file: Option<PathBuf>,
    /// `None` for an in-memory database.
    sessions: Option<SessionCache>,
}

/// Where a live session's data and expiry came from: the cache (no query), or a read of the
/// table (one query), which may have found nothing.
pub(super) enum SessionRead {
    Kept((String, i64)),
    Read(Option<(String, i64)>),
}

impl Reader {
    /// A reader of `file` (`None`: in memory). An error when the change counters beside the
    /// file cannot be mapped: a server that could not mark its writes there would leave the
    /// other servers on the file serving sessions it has ended.
    pub(super) fn new(file: Option<PathBuf>) -> std::io::Result<Self> {
        let sessions = match &file {
            Some(file) => Some(SessionCache {
                generations: Generations::open(file)?,
                kept: RwLock::new(HashMap::new()),
            }),
            None => None,
        };
        Ok(Reader { file, sessions })
    }

    /// The data and expiry of the live session whose ID hashes to `id_hash`, kept or read;
    /// `None` when this database can only be read through the pool.
    pub(super) fn live_session_data(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Option<rusqlite::Result<SessionRead>> {
        // No cache only for a database in memory, which only the pool can read.
        let cache = self.sessions.as_ref()?;
        // Before the read: a change committed after this bumps the counters past it.
        let stamp = cache.generations.stamp(id_hash);
        if let Some(kept) = read_lock(&cache.kept).get(id_hash)
            && kept.stamp == stamp
            && kept.expires_at > now
            && kept.read_at.elapsed() < KEPT_AT_MOST
        {
            return Some(Ok(SessionRead::Kept((kept.data.clone(), kept.expires_at))));
        }
        let read = self.read_session(id_hash, now)?;
        let mut kept = write_lock(&cache.kept);
        match &read {
            Ok(Some((data, expires_at))) => {
                if kept.len() >= MOST_KEPT {
                    kept.clear();
                }
                kept.insert(
                    id_hash.to_vec(),
                    Kept {
                        data: data.clone(),
                        expires_at: *expires_at,
                        stamp,
                        read_at: Instant::now(),
                    },
                );
            }
            _ => {
                kept.remove(id_hash);
            }
        }
        Some(read.map(SessionRead::Read))
    }

    /// Marks a change to the `sessions` table, once it has committed: every process on this
    /// file reads the changed sessions again.
    pub(super) fn sessions_changed(&self, changed: &Changed) {
        if let Some(cache) = &self.sessions {
            cache.generations.bump(changed);
        }
    }

    /// The same read, never from the cache.
    pub(super) fn read_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Option<rusqlite::Result<Option<(String, i64)>>> {
        self.read(LIVE_SESSION_DATA, (id_hash, now), |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    }

    /// The role of the user of the refresh family `public_id` if the family is neither revoked
    /// nor expired; `None` when this database can only be read through the pool.
    pub(super) fn live_family_role(
        &self,
        public_id: &str,
        now: i64,
    ) -> Option<rusqlite::Result<Option<String>>> {
        self.read(LIVE_FAMILY_ROLE, (public_id, now), |row| row.get(0))
    }

    fn read<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<rusqlite::Result<Option<T>>> {
        let file = self.file.as_ref()?;
        Some(CONNECTIONS.with_borrow_mut(|connections| {
            let connection = match connections.get(file) {
                Some(connection) => connection,
                None => {
                    let opened = open(file)?;
                    connections.entry(file.clone()).or_insert(opened)
                }
            };
            connection
                .prepare_cached(sql)?
                .query_row(params, map)
                .optional()
        }))
    }
}

fn open(file: &PathBuf) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::super::Sqlite;
    use crate::db::SessionRow;

    const NOW: i64 = 1_800_000_000;

    /// The session `id` of `user_id`: its ID hash is 32 bytes of `id`.
    fn session_row(user_id: i64, id: u8, expires_at: i64) -> SessionRow {
        SessionRow {
            id_hash: vec![id; 32],
            public_id: format!("device{id}"),
            user_id,
            device: "Firefox on Linux".into(),
            ip: "127.0.0.1".into(),
            created_at: NOW,
            last_seen_at: NOW,
            expires_at,
            remembered: true,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_direct_read_agrees_with_the_pool_and_sees_a_deletion_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&format!("sqlite://{}", dir.path().join("r.db").display()))
            .await
            .unwrap();
        let user_id = db
            .insert_user("reader", "$argon2id$x", NOW)
            .await
            .unwrap()
            .unwrap();
        let row = |id: u8, expires_at| session_row(user_id, id, expires_at);
        assert!(
            db.insert_session(&row(1, NOW + 60), "{\"a\":1}")
                .await
                .unwrap()
        );
        assert!(db.insert_session(&row(2, NOW - 1), "{}").await.unwrap());

        for (id, expected) in [
            (1, Some(("{\"a\":1}".to_string(), NOW + 60))),
            (2, None), // expired
            (3, None), // unknown
        ] {
            let hash = [id; 32];
            let direct = db.reader.read_session(&hash, NOW).unwrap().unwrap();
            let pooled = db.live_session_data_pooled(&hash, NOW).await.unwrap();
            assert_eq!(direct, expected, "session {id}");
            assert_eq!(pooled, expected, "session {id}");
        }

        // Deleted through the pool (a kill, a sign-out): the very next direct read misses it,
        // on whichever thread it runs.
        assert!(db.delete_session(&[1; 32]).await.unwrap());
        for _ in 0..8 {
            let read = tokio::spawn({
                let db = db.clone();
                async move { db.live_session_data(&[1; 32], NOW).await.unwrap() }
            });
            assert_eq!(read.await.unwrap(), None);
        }
    }

    /// What a request's read of the session costs in queries, and what it found.
    async fn counted_read(db: &Sqlite, id_hash: &[u8], now: i64) -> (Option<String>, u32) {
        let (found, queries) =
            crate::db::counting_queries(db.live_session_data(id_hash, now)).await;
        (found.unwrap().map(|(data, _)| data), queries)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kept_session_costs_no_query_until_any_process_on_the_file_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("k.db").display());
        // Two servers on one file, each with a cache of its own, as two processes would be.
        let (here, there) = (
            Sqlite::open(&url).await.unwrap(),
            Sqlite::open(&url).await.unwrap(),
        );
        let user_id = here
            .insert_user("keeper", "$argon2id$x", NOW)
            .await
            .unwrap()
            .unwrap();
        let row = |id: u8| session_row(user_id, id, NOW + 60);
        let data = r#"{"ticketbooth":{"role":"user"}}"#;
        for id in [1, 2, 3] {
            assert!(here.insert_session(&row(id), data).await.unwrap());
        }
        let hash = |id: u8| [id; 32];

        assert_eq!(
            counted_read(&there, &hash(1), NOW).await,
            (Some(data.into()), 1)
        );
        assert_eq!(
            counted_read(&there, &hash(1), NOW).await,
            (Some(data.into()), 0)
        );
        // Past its expiry a kept session is not served, whatever the counters say.
        assert_eq!(counted_read(&there, &hash(1), NOW + 60).await, (None, 1));

        // Deleted by the other server: the very next read finds nothing.
        assert_eq!(counted_read(&there, &hash(2), NOW).await.1, 1);
        assert!(here.delete_session(&hash(2)).await.unwrap());
        assert_eq!(counted_read(&there, &hash(2), NOW).await, (None, 1));

        // A role rewritten for all of a user's sessions, and a user's sessions ended.
        assert_eq!(counted_read(&there, &hash(3), NOW).await.1, 1);
        here.set_role_in_sessions_of_user(user_id, &["ticketbooth", "role"], "admin", NOW)
            .await
            .unwrap();
        let (read, queries) = counted_read(&there, &hash(3), NOW).await;
        assert_eq!(queries, 1);
        assert!(read.unwrap().contains("admin"));
        assert_eq!(counted_read(&there, &hash(3), NOW).await.1, 0);
        here.delete_sessions_of_user_except(user_id, None)
            .await
            .unwrap();
        assert_eq!(counted_read(&there, &hash(3), NOW).await, (None, 1));
    }

    #[tokio::test]
    async fn an_in_memory_database_is_read_through_the_pool() {
        let db = Sqlite::open("sqlite::memory:").await.unwrap();
        assert!(db.reader.live_session_data(&[0; 32], NOW).is_none());
        assert_eq!(db.live_session_data(&[0; 32], NOW).await.unwrap(), None);
    }
}
