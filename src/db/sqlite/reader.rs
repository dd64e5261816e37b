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

use std::{cell::RefCell, collections::HashMap, path::PathBuf, time::Duration};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

const LIVE_SESSION_DATA: &str = include_str!("sql/live_session_data.sql");
const LIVE_FAMILY_ROLE: &str = include_str!("sql/live_family_role.sql");

/// A reader cannot wait long: a read in WAL mode waits only while the file recovers from a
/// crash, and the pool answers instead when it does.
const BUSY_TIMEOUT: Duration = Duration::from_millis(250);

thread_local! {
    /// This thread's read-only connections, one per database file.
    static CONNECTIONS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

/// Reads a database file directly, from whichever thread asks.
#[derive(Clone, Debug)]
pub(super) struct Reader {
    /// `None` for an in-memory database, which only the pool's connection can see.
    file: Option<PathBuf>,
}

impl Reader {
    pub(super) fn new(file: Option<PathBuf>) -> Self {
        Reader { file }
    }

    /// The data and expiry of the live session whose ID hashes to `id_hash`; `None` when this
    /// database can only be read through the pool.
    pub(super) fn live_session_data(
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
        let row = |id: u8, expires_at| SessionRow {
            id_hash: vec![id; 32],
            public_id: format!("device{id}"),
            user_id,
            device: "Firefox on Linux".into(),
            ip: "127.0.0.1".into(),
            created_at: NOW,
            last_seen_at: NOW,
            expires_at,
            remembered: true,
        };
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
            let direct = db.reader.live_session_data(&hash, NOW).unwrap().unwrap();
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

    #[tokio::test]
    async fn an_in_memory_database_is_read_through_the_pool() {
        let db = Sqlite::open("sqlite::memory:").await.unwrap();
        assert!(db.reader.live_session_data(&[0; 32], NOW).is_none());
        assert_eq!(db.live_session_data(&[0; 32], NOW).await.unwrap(), None);
    }
}
