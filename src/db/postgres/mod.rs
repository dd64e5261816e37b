//! The shared database: PostgreSQL, which every instance of a cluster reads and writes.
//!
//! Transactions run at READ COMMITTED; where SQLite takes its one write lock (`BEGIN
//! IMMEDIATE`), these lock the rows a decision rests on (`SELECT … FOR UPDATE`): a family for an
//! exchange or a revocation, the account for its log. Writers of different rows never wait for
//! each other, and a second writer of the same rows waits, then reads what the first wrote.

mod activity;
mod keys;
mod refresh;
mod sessions;
mod users;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, Postgres as PostgresDatabase,
    migrate::MigrateDatabase as _,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use super::queries;

#[derive(Clone, Debug)]
pub(super) struct Postgres {
    pool: PgPool,
}

impl Postgres {
    /// Connects to the database at `url`, creating it if the server has none of that name (as
    /// a SQLite file is created), and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        if !PostgresDatabase::database_exists(url).await? {
            PostgresDatabase::create_database(url).await?;
        }
        let options = PgConnectOptions::from_str(url)?.application_name("ticketbooth");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A request waits this long for a connection, then fails (503) rather than hangs.
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Postgres { pool })
    }

    /// The one door to the database: every query passes here, and is counted for the request
    /// whose recognition is being measured (see [`queries`]).
    fn pool(&self) -> &PgPool {
        queries::count_query();
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select 1::bigint as "one!""#)
            .fetch_one(self.pool())
            .await
            .map(|_| ())
    }
}
