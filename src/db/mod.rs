//! Every SQL statement the app runs, each one a named method on [`Db`].
//!
//! Queries are checked against the schema at compile time (`sqlx::query!`), with the checked
//! metadata committed in `.sqlx/` so that a build needs no database (`make sqlx-prepare` renews it).

mod activity;
mod queries;
mod reader;
mod refresh;
mod sessions;
mod users;

pub use activity::{ActivityRow, NewActivity};
pub use queries::counting_queries;
pub use refresh::{FamilyRow, NewFamily, Rotation, RotationOutcome, TokenRow};
pub use sessions::{SessionRow, SessionRowUpdate};
pub use users::{RoleUpdate, UserOverview, UserRecord};

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// The database: a pool of SQLite connections in WAL mode.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
    /// The session lookup of every request, read on the asking thread (`reader.rs`).
    reader: Arc<reader::Reader>,
}

impl Db {
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
        let reader = reader::Reader::new((!in_memory).then(|| file.to_path_buf()));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Db {
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

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select 1 as "one!: i64""#)
            .fetch_one(self.pool())
            .await
            .map(|_| ())
    }
}

fn create_dir(dir: &Path) -> Result<(), sqlx::Error> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)
}

/// True when `error` is a unique-key violation. SQLite does not say which key, so callers use
/// it only on tables with a single unique key besides the primary key.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
