//! Every SQL statement the app runs, each one a named method on [`Db`], in the SQL of the
//! database the server was given: SQLite (`sqlite:`, embedded, the default) or PostgreSQL
//! (`postgres:`, a server several instances share). One module per database holds its
//! statements; the rules that span statements (a refresh-token exchange) are written once
//! ([`rotation`]).
//!
//! Queries are checked against each database's schema at compile time (`sqlx::query!`), with
//! the checked metadata of both committed in `.sqlx/` so that a build needs no database
//! (`make sqlx-prepare` renews it, compiling one database's module at a time:
//! `--cfg sqlx_prepare="sqlite"` or `"postgres"` leaves the other out).

#[cfg(not(sqlx_prepare = "sqlite"))]
mod postgres;
mod queries;
mod rotation;
mod rows;
#[cfg(not(sqlx_prepare = "postgres"))]
mod sqlite;

pub use queries::counting_queries;
pub use rows::{
    ActivityRow, FamilyRow, NewActivity, NewFamily, RoleUpdate, Rotation, RotationOutcome,
    SessionRow, SessionRowUpdate, SigningKeyRow, TableFootprint, TokenRow, UserOverview,
    UserRecord,
};

use crate::model::{DatabaseKind, RevocationReason};

/// Rows of failed sign-ins kept per user (each counts a run from one address): a guesser
/// rotating addresses fills these, never the rest of the log.
const FAILURE_ROWS_KEPT: i64 = 100;

/// The database.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    #[cfg(not(sqlx_prepare = "postgres"))]
    Sqlite(sqlite::Sqlite),
    #[cfg(not(sqlx_prepare = "sqlite"))]
    Postgres(postgres::Postgres),
}

/// An account's lock in the database, held until dropped ([`Db::hold_account`]).
#[derive(Debug, Default)]
pub struct AccountLock {
    #[cfg(not(sqlx_prepare = "sqlite"))]
    _postgres: Option<postgres::AccountLock>,
}

/// Runs `$body` with `$db` bound to whichever database this is.
macro_rules! on_backend {
    ($self:ident, $db:ident => $body:expr) => {
        match &$self.backend {
            #[cfg(not(sqlx_prepare = "postgres"))]
            Backend::Sqlite($db) => $body,
            #[cfg(not(sqlx_prepare = "sqlite"))]
            Backend::Postgres($db) => $body,
        }
    };
}

/// Each listed method of [`Db`] passes its call to the database's own method of that name.
macro_rules! delegate {
    ($(
        $(#[$attribute:meta])*
        pub async fn $name:ident(&self $(, $argument:ident: $type:ty)* $(,)?) -> $output:ty;
    )*) => {
        impl Db {
            $(
                $(#[$attribute])*
                pub async fn $name(&self $(, $argument: $type)*) -> $output {
                    on_backend!(self, db => db.$name($($argument),*).await)
                }
            )*
        }
    };
}

impl Db {
    /// Opens the database `url` names and brings its schema up to date (each database has its
    /// own migrations, `migrations/sqlite` and `migrations/postgres`), creating it if missing.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let backend = match DatabaseKind::of_url(url) {
            #[cfg(not(sqlx_prepare = "postgres"))]
            Some(DatabaseKind::Sqlite) => Backend::Sqlite(sqlite::Sqlite::open(url).await?),
            #[cfg(not(sqlx_prepare = "sqlite"))]
            Some(DatabaseKind::Postgres) => Backend::Postgres(postgres::Postgres::open(url).await?),
            _ => {
                return Err(sqlx::Error::Configuration(
                    "DATABASE_URL must start with sqlite: or postgres:".into(),
                ));
            }
        };
        Ok(Db { backend })
    }

    pub fn kind(&self) -> DatabaseKind {
        match &self.backend {
            #[cfg(not(sqlx_prepare = "postgres"))]
            Backend::Sqlite(_) => DatabaseKind::Sqlite,
            #[cfg(not(sqlx_prepare = "sqlite"))]
            Backend::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    pub async fn close(&self) {
        on_backend!(self, db => db.close().await)
    }

    /// Whether the database answers (`/readyz`): one round trip.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_backend!(self, db => db.ping().await)
    }

    /// Holds the account `user_id`'s lock in the database until the returned value is
    /// dropped, when the database is one several servers share (PostgreSQL): a sign-in there
    /// waits for another server's sign-in of the same account. On SQLite this holds nothing:
    /// each server's own turn is the whole guard, so servers sharing one SQLite file (as some
    /// tests run them; a cluster runs on PostgreSQL) could each find room for a device at once.
    pub async fn hold_account(&self, user_id: i64) -> Result<AccountLock, sqlx::Error> {
        Ok(match &self.backend {
            #[cfg(not(sqlx_prepare = "postgres"))]
            Backend::Sqlite(_) => AccountLock::default(),
            #[cfg(not(sqlx_prepare = "sqlite"))]
            Backend::Postgres(db) => AccountLock {
                _postgres: Some(db.hold_account(user_id).await?),
            },
        })
    }

    /// Whether the family `public_id` is neither revoked nor expired.
    pub async fn family_is_live(&self, public_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        Ok(self.live_family_role(public_id, now).await?.is_some())
    }
}

delegate! {
    // Accounts.

    /// Creates an account; `Ok(None)` when the username is taken, in any letter case.
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<i64>, sqlx::Error>;
    /// Looks an account up by name, ignoring letter case.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, sqlx::Error>;
    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, sqlx::Error>;
    /// Replaces the user's password hash if it is still `expected`: of two changes at once,
    /// one wins and the other finds `Ok(false)`. `changed_at` is set for a new password, and
    /// `None` for the same password rehashed.
    pub async fn replace_password_hash(
        &self,
        user_id: i64,
        expected: &str,
        new_hash: &str,
        changed_at: Option<i64>,
    ) -> Result<bool, sqlx::Error>;
    /// When the user last changed their password, if ever.
    pub async fn password_changed_at(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error>;
    /// The account's device limit (`None`: no limit) and what a sign-in beyond it does.
    pub async fn device_policy(&self, user_id: i64) -> Result<(Option<i64>, String), sqlx::Error>;
    pub async fn set_device_policy(
        &self,
        user_id: i64,
        device_limit: Option<i64>,
        when_full: &str,
    ) -> Result<(), sqlx::Error>;
    /// Makes the account `username` (any letter case) an administrator; its id, or `None` if
    /// there is no such account.
    pub async fn make_admin(&self, username: &str, now: i64) -> Result<Option<i64>, sqlx::Error>;
    /// Gives the account `user_id` the role `role` ("user" or "admin"). Never leaves the app
    /// without an administrator: a demotion of the last one changes nothing. The check and the
    /// change are one statement, so two administrators demoting each other at once cannot
    /// both succeed.
    pub async fn set_role(
        &self,
        user_id: i64,
        role: &str,
        now: i64,
    ) -> Result<RoleUpdate, sqlx::Error>;
    /// When an administrator last changed the account's role, if ever.
    pub async fn role_changed_at(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error>;
    /// Every account, oldest first (at most `limit`), with the time of its newest log entry.
    pub async fn users_overview(&self, limit: i64) -> Result<Vec<UserOverview>, sqlx::Error>;
    pub async fn count_users(&self) -> Result<i64, sqlx::Error>;

    // Cookie sessions, keyed by the SHA-256 of their ID.

    /// Stores a new session; `Ok(false)` if its ID hash or public id is already in use.
    pub async fn insert_session(&self, row: &SessionRow, data: &str) -> Result<bool, sqlx::Error>;
    /// Writes a live session back. Never inserts: a session deleted (killed, signed out,
    /// expired) while a request held it stays deleted. `Ok(false)` when there was nothing to update.
    pub async fn update_live_session(
        &self,
        id_hash: &[u8],
        update: &SessionRowUpdate<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error>;
    /// The stored record of a live session: its data and expiry. When the database is a file,
    /// kept from an earlier read while no process on the file has changed it since, else read
    /// on this thread (`reader.rs`); through the pool otherwise or if that read fails.
    pub async fn live_session_data(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error>;
    /// The same read, never from what was kept: what reading the row itself costs.
    pub async fn live_session_data_read(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error>;
    /// The same read through the pool: sqlx checks the query against the schema.
    pub async fn live_session_data_pooled(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error>;
    pub async fn live_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, sqlx::Error>;
    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, sqlx::Error>;
    /// A user's live sessions, most recently active first (one range scan of
    /// `sessions_user_last_seen`).
    pub async fn live_sessions_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error>;
    /// Deletes one of `user_id`'s sessions by its public id; `Ok(false)` if they have no such
    /// session (someone else's id changes nothing).
    pub async fn delete_session_of_user(
        &self,
        user_id: i64,
        public_id: &str,
    ) -> Result<bool, sqlx::Error>;
    /// Deletes all of `user_id`'s sessions but `keep` (all of them when `keep` is `None`).
    pub async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, sqlx::Error>;
    /// Writes `role` at `path` (key by key) into the data of every live session of `user_id`;
    /// returns how many.
    pub async fn set_role_in_sessions_of_user(
        &self,
        user_id: i64,
        path: &[&str],
        role: &str,
        now: i64,
    ) -> Result<u64, sqlx::Error>;
    /// The sweeper's query: removes every session that has expired.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error>;
    /// What the `sessions` table holds, expired rows included: its rows, and the bytes it
    /// and its indexes take in the database's files.
    pub async fn sessions_footprint(&self) -> Result<TableFootprint, sqlx::Error>;
    /// Remembers why the session with `id_hash` was ended, until it would have expired.
    pub async fn remember_ended_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        reason: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error>;
    /// Why the session with `id_hash` was ended, if someone ended it and it has not expired.
    pub async fn ended_session_reason(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<String>, sqlx::Error>;
    /// The sweeper: forgets why sessions ended once they would have expired anyway.
    pub async fn delete_expired_ended_sessions(&self, now: i64) -> Result<u64, sqlx::Error>;

    // JWT mode's refresh-token families and tokens, keyed by the SHA-256 of the tokens.

    /// Starts a family with its first token.
    pub async fn insert_family(&self, new: &NewFamily<'_>) -> Result<FamilyRow, sqlx::Error>;
    /// Exchanges a refresh token for its successor ([`rotation`]'s rules), atomically: the
    /// write lock is taken first (`BEGIN IMMEDIATE`), so two exchanges of the same token are
    /// decided one after the other.
    pub async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<RotationOutcome, sqlx::Error>;
    /// The user's families worth showing: live ones, and revoked ones whose last access token
    /// has not yet expired (the device still gets in until then).
    pub async fn visible_families_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<FamilyRow>, sqlx::Error>;
    pub async fn family(&self, public_id: &str) -> Result<Option<FamilyRow>, sqlx::Error>;
    /// The user and public id of the family a refresh token belongs to, whatever became of it.
    pub async fn family_of_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(i64, String)>, sqlx::Error>;
    /// The tokens of a family, oldest first: its rotation history.
    pub async fn tokens_of_family(&self, family_id: i64) -> Result<Vec<TokenRow>, sqlx::Error>;
    /// Revokes one live family of `user_id`; `Ok(None)` if they have no such live family.
    pub async fn revoke_family_of_user(
        &self,
        user_id: i64,
        public_id: &str,
        reason: RevocationReason,
        now: i64,
    ) -> Result<Option<FamilyRow>, sqlx::Error>;
    /// Revokes every live family of `user_id` but `keep`; returns them.
    pub async fn revoke_families_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevocationReason,
        now: i64,
    ) -> Result<Vec<FamilyRow>, sqlx::Error>;
    /// The role its user has now, if the family named by an access token's `sid` may still be
    /// used (neither revoked nor expired): the one read of the "session-check" revocation
    /// setting, which so also brings the role up to date. Read on this thread when the
    /// database is a file (`reader.rs`), through the pool otherwise or if that read fails.
    pub async fn live_family_role(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error>;
    /// The same read through the pool: sqlx checks the query against the schema.
    pub async fn live_family_role_pooled(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error>;
    /// How many live families the user has, and the latest expiry among their access tokens
    /// issued at or before `issued_by` that have not expired: until then a device of theirs
    /// holds a token with the claims it was given then.
    pub async fn claims_issued_by(
        &self,
        user_id: i64,
        issued_by: i64,
        now: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error>;
    /// The access tokens issued to a family that have not expired yet: `(jti, exp)`.
    pub async fn live_access_tokens_of_family(
        &self,
        family_id: i64,
        now: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error>;
    /// Every access token that has not expired yet of a revoked family: `(jti, exp)`. What a
    /// server's denylist must hold, whichever server revoked them.
    pub async fn denied_access_tokens(&self, now: i64) -> Result<Vec<(String, i64)>, sqlx::Error>;
    /// Removes a family and its tokens outright (the load generator's, after its drill).
    pub async fn delete_family(&self, public_id: &str) -> Result<bool, sqlx::Error>;
    /// The sweeper's query: families whose tokens and access tokens have all expired.
    pub async fn delete_expired_families(&self, now: i64) -> Result<u64, sqlx::Error>;

    // The activity log, bounded per user by count (at each write) and by age (the sweeper).

    /// Writes an entry and drops the user's oldest beyond the newest `keep`.
    pub async fn record_activity(
        &self,
        entry: &NewActivity<'_>,
        keep: i64,
    ) -> Result<(), sqlx::Error>;
    /// Counts a wrong password for the account: on the user's newest entry when that is already
    /// a failure from the same address, on a new entry otherwise.
    pub async fn record_failed_sign_in(
        &self,
        user_id: i64,
        ip: &str,
        at: i64,
    ) -> Result<(), sqlx::Error>;
    /// The user's entries newest first, `limit` from `offset`, optionally about one device only.
    pub async fn activity_of_user(
        &self,
        user_id: i64,
        device_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ActivityRow>, sqlx::Error>;
    /// The user's newest entry of `kind`.
    pub async fn latest_activity(
        &self,
        user_id: i64,
        kind: &str,
    ) -> Result<Option<ActivityRow>, sqlx::Error>;
    /// Deletes every entry older than `cutoff`; returns how many.
    pub async fn delete_activity_before(&self, cutoff: i64) -> Result<u64, sqlx::Error>;

    // The JWT key ring, when the database keeps it.

    /// Every key, retired or not, the one that signs latest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, sqlx::Error>;
    /// Stores `key` if the ring is empty; `Ok(false)` if a key was there (another server
    /// starting at the same moment stored its own first: everyone uses that one).
    pub async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> Result<bool, sqlx::Error>;
    /// Adds `key` to the ring and retires every key in service at `retire_others_at`; forgets
    /// the keys retired by `now`.
    pub async fn add_signing_key(
        &self,
        key: &SigningKeyRow,
        retire_others_at: i64,
        now: i64,
    ) -> Result<(), sqlx::Error>;
}

/// True when `error` is a unique-key violation. SQLite does not say which key, so callers use
/// it only on tables with a single unique key besides the primary key.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
