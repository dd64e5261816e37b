//! The embedded database: a file (or memory) read and written through a pool of SQLite
//! connections in WAL mode, and read directly on the asking thread where a request waits.

mod activity;
mod generations;
mod keys;
mod reader;
mod refresh;
mod sessions;
mod users;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::queries;

#[derive(Clone, Debug)]
pub(super) struct Sqlite {
    pool: SqlitePool,
    /// The session lookup of every request, read on the asking thread (`reader.rs`).
    reader: Arc<reader::Reader>,
}

impl Sqlite {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            // WAL lets page loads read while a sign-in writes.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue for the lock instead of failing at once with SQLITE_BUSY.
            .busy_timeout(Duration::from_secs(5));
        let file = options.get_filename();
        // sqlx keeps no public flag for it; its URL says so.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if let Some(parent) = file.parent() {
            create_dir(parent)?;
        }
        let file = file.to_path_buf();
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // The file as SQLite names its `-wal` and `-shm`, through any symbolic link: every
        // process on it must find the same change counters beside it.
        let file = if in_memory {
            None
        } else {
            Some(std::fs::canonicalize(&file).map_err(sqlx::Error::Io)?)
        };
        let reader = reader::Reader::new(file).map_err(sqlx::Error::Io)?;
        Ok(Sqlite {
            pool,
            reader: Arc::new(reader),
        })
    }

    /// The one door to the database: every query passes here, and is counted for the request
    /// whose recognition is being measured (see [`queries`]).
    fn pool(&self) -> &SqlitePool {
        queries::count_query();
        &self.pool
    }

    /// What a direct read (`reader.rs`) found, counted like a pool query; `None` when the pool
    /// must answer instead: the database is in memory, or the direct read failed (logged).
    fn direct<T>(&self, read: Option<rusqlite::Result<T>>) -> Option<T> {
        match read? {
            Ok(found) => {
                queries::count_query();
                Some(found)
            }
            Err(error) => {
                tracing::warn!(%error, "a direct read failed; asking the pool");
                None
            }
        }
    }

    /// Runs `write`, a change to the `sessions` table, to its end even if the request that
    /// asked is dropped meanwhile (a browser that goes away mid-kill), then marks `changed` for
    /// every process's cache of live sessions (`reader.rs`). Dropped halfway, the statement
    /// would still commit on sqlx's thread, and no mark would follow it.
    async fn changing_sessions<T, F>(
        &self,
        changed: generations::Changed,
        write: impl FnOnce(SqlitePool) -> F,
    ) -> Result<T, sqlx::Error>
    where
        F: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let writing = write(self.pool().clone());
        let mark = MarkWhenDone {
            reader: Arc::clone(&self.reader),
            changed,
        };
        tokio::spawn(async move {
            let _mark = mark;
            writing.await
        })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select 1 as "one!: i64""#)
            .fetch_one(self.pool())
            .await
            .map(|_| ())
    }
}

/// Marks a change to the sessions once the write that made it is done, whichever way it ends:
/// answered, failed (a statement that failed may still have committed), or dropped with its
/// task when the runtime stops (sqlx's thread may still commit it).
struct MarkWhenDone {
    reader: Arc<reader::Reader>,
    changed: generations::Changed,
}

impl Drop for MarkWhenDone {
    fn drop(&mut self) {
        self.reader.sessions_changed(&self.changed);
    }
}

fn create_dir(dir: &Path) -> Result<(), sqlx::Error> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)
}
