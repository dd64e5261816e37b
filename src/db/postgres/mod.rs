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

/// Account locks held at once by one server; a sign-in beyond them waits for one.
const LOCK_CONNECTIONS: u32 = 4;

#[derive(Clone, Debug)]
pub(super) struct Postgres {
    pool: PgPool,
    /// Connections that only hold account locks ([`Postgres::hold_account`]). Apart from
    /// `pool`: a holder goes on to query through `pool`, so if holders took `pool`'s
    /// connections, sixteen of them could wait forever for a seventeenth.
    locks: PgPool,
}

/// Sign-ins of one account at a time on every server of this database: a transaction that holds
/// the account's advisory lock until it is dropped (then rolled back, which releases the lock;
/// so does the server's connection closing, if the server dies holding it).
#[derive(Debug)]
pub(super) struct AccountLock(#[allow(dead_code)] sqlx::Transaction<'static, PostgresDatabase>);

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
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let locks = PgPoolOptions::new()
            .max_connections(LOCK_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        Ok(Postgres { pool, locks })
    }

    /// Waits for the account `user_id`'s lock, which every server of this database takes
    /// around a sign-in (the device limit counts, then issues: two servers counting at once
    /// would both find room). The advisory lock's key is the account's id: the app takes no
    /// other advisory lock but sqlx's migration lock, whose key is far beyond any id.
    pub async fn hold_account(&self, user_id: i64) -> Result<AccountLock, sqlx::Error> {
        let mut transaction = self.locks.begin().await?;
        sqlx::query_scalar!(
            r#"select true as "locked!" from pg_advisory_xact_lock($1)"#,
            user_id
        )
        .fetch_one(&mut *transaction)
        .await?;
        Ok(AccountLock(transaction))
    }

    /// The one door to the database: every query passes here, and is counted for the request
    /// whose recognition is being measured (see [`queries`]).
    fn pool(&self) -> &PgPool {
        queries::count_query();
        &self.pool
    }

    pub async fn close(&self) {
        self.locks.close().await;
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar!(r#"select 1::bigint as "one!""#)
            .fetch_one(self.pool())
            .await
            .map(|_| ())
    }
}
