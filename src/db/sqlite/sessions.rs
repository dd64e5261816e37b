//! Cookie sessions in SQLite, keyed by the SHA-256 of their ID.
//!
//! Every read takes `now` and ignores expired rows, so an expired session is never listed and
//! never accepted even before the sweeper has deleted it.

use super::{Sqlite, generations::Changed, reader::SessionRead};
use crate::db::{
    is_unique_violation,
    rows::{SessionRow, SessionRowUpdate, TableFootprint},
};

impl Sqlite {
    pub async fn insert_session(&self, row: &SessionRow, data: &str) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query!(
            "insert into sessions
                 (id_hash, public_id, user_id, device, ip, created_at, last_seen_at, expires_at,
                  remembered, data)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row.id_hash,
            row.public_id,
            row.user_id,
            row.device,
            row.ip,
            row.created_at,
            row.last_seen_at,
            row.expires_at,
            row.remembered,
            data,
        )
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub async fn update_live_session(
        &self,
        id_hash: &[u8],
        update: &SessionRowUpdate<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let role_path = json_path(update.role_path);
        let (id_hash, ip, data) = (
            id_hash.to_vec(),
            update.ip.to_owned(),
            update.data.to_owned(),
        );
        let (last_seen_at, expires_at) = (update.last_seen_at, update.expires_at);
        self.changing_sessions(Changed::One(id_hash.clone()), move |pool| async move {
            let result = sqlx::query!(
                "update sessions set ip = ?, last_seen_at = ?, expires_at = ?,
                 data = json_set(?, ?, coalesce(json_extract(data, ?), json_extract(?, ?)))
             where id_hash = ? and expires_at > ?",
                ip,
                last_seen_at,
                expires_at,
                data,
                role_path,
                role_path,
                data,
                role_path,
                id_hash,
                now,
            )
            .execute(&pool)
            .await?;
            Ok(result.rows_affected() == 1)
        })
        .await
    }

    pub async fn live_session_data(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let read = match self.reader.live_session_data(id_hash, now) {
            // Kept, and unchanged since it was read: no query.
            Some(Ok(SessionRead::Kept(found))) => return Ok(Some(found)),
            Some(Ok(SessionRead::Read(found))) => Some(Ok(found)),
            Some(Err(error)) => Some(Err(error)),
            None => None,
        };
        self.read_or_pooled(read, id_hash, now).await
    }

    /// What a direct read of a session found, or the pool's answer where it could not read.
    async fn read_or_pooled(
        &self,
        read: Option<rusqlite::Result<Option<(String, i64)>>>,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        match self.direct(read) {
            Some(found) => Ok(found),
            None => self.live_session_data_pooled(id_hash, now).await,
        }
    }

    pub async fn live_session_data_read(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        self.read_or_pooled(self.reader.read_session(id_hash, now), id_hash, now)
            .await
    }

    pub async fn live_session_data_pooled(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query_file!("src/db/sqlite/sql/live_session_data.sql", id_hash, now)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|row| (row.data, row.expires_at)))
    }

    pub async fn live_session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        sqlx::query_as!(
            SessionRow,
            "select id_hash, public_id, user_id, device, ip, created_at, last_seen_at, expires_at,
                 remembered
             from sessions where id_hash = ? and expires_at > ?",
            id_hash,
            now,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, sqlx::Error> {
        let id_hash = id_hash.to_vec();
        self.changing_sessions(Changed::One(id_hash.clone()), move |pool| async move {
            let result = sqlx::query!("delete from sessions where id_hash = ?", id_hash)
                .execute(&pool)
                .await?;
            Ok(result.rows_affected() == 1)
        })
        .await
    }

    pub async fn live_sessions_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error> {
        // In a file of its own so that the query-plan test below checks this very query.
        sqlx::query_file_as!(
            SessionRow,
            "src/db/sqlite/sql/live_sessions_of_user.sql",
            user_id,
            now,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn delete_session_of_user(
        &self,
        user_id: i64,
        public_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let public_id = public_id.to_owned();
        self.changing_sessions(Changed::Any, move |pool| async move {
            let result = sqlx::query!(
                "delete from sessions where user_id = ? and public_id = ?",
                user_id,
                public_id,
            )
            .execute(&pool)
            .await?;
            Ok(result.rows_affected() == 1)
        })
        .await
    }

    pub async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let keep = keep.map(str::to_owned);
        self.changing_sessions(Changed::Any, move |pool| async move {
            let result = sqlx::query!(
                "delete from sessions where user_id = ? and public_id is not ?",
                user_id,
                keep,
            )
            .execute(&pool)
            .await?;
            Ok(result.rows_affected())
        })
        .await
    }

    pub async fn set_role_in_sessions_of_user(
        &self,
        user_id: i64,
        path: &[&str],
        role: &str,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let (path, role) = (json_path(path), role.to_owned());
        self.changing_sessions(Changed::Any, move |pool| async move {
            let result = sqlx::query!(
                "update sessions set data = json_set(data, ?, ?) where user_id = ? and expires_at > ?",
                path,
                role,
                user_id,
                now,
            )
            .execute(&pool)
            .await?;
            Ok(result.rows_affected())
        })
        .await
    }

    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        self.changing_sessions(Changed::Any, move |pool| async move {
            let result = sqlx::query!("delete from sessions where expires_at <= ?", now)
                .execute(&pool)
                .await?;
            Ok(result.rows_affected())
        })
        .await
    }

    pub async fn sessions_footprint(&self) -> Result<TableFootprint, sqlx::Error> {
        // `dbstat` (compiled into the bundled SQLite) reads the pages of the table and of each
        // of its indexes: the bytes in use in them, so that a few sessions are not charged a
        // whole page each.
        sqlx::query_as!(
            TableFootprint,
            r#"select
                   (select count(*) from sessions) as "rows!: i64",
                   (select coalesce(sum(pgsize - unused), 0) from dbstat
                     where name in (select name from sqlite_schema where tbl_name = 'sessions'))
                   as "bytes!: i64""#
        )
        .fetch_one(self.pool())
        .await
    }

    pub async fn remember_ended_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        reason: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "insert into ended_sessions (id_hash, user_id, reason, ended_at, expires_at)
             values (?, ?, ?, ?, ?)
             on conflict (id_hash) do update set reason = excluded.reason,
                 ended_at = excluded.ended_at",
            id_hash,
            user_id,
            reason,
            now,
            expires_at,
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn ended_session_reason(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar!(
            "select reason from ended_sessions where id_hash = ? and expires_at > ?",
            id_hash,
            now,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_expired_ended_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query!("delete from ended_sessions where expires_at <= ?", now)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }
}

/// SQLite's JSON path of a key path: `["a", "b"]` is `$.a.b` (the keys are the app's own names,
/// letters and underscores, which need no quoting).
fn json_path(keys: &[&str]) -> String {
    keys.iter()
        .fold("$".to_owned(), |path, key| path + "." + key)
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;

    use super::Sqlite;

    /// The devices page must stay one index range scan however many sessions the table holds:
    /// no full scan, no sort.
    #[tokio::test]
    async fn listing_a_users_sessions_is_one_index_range_scan() {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let query = format!(
            "explain query plan {}",
            include_str!("sql/live_sessions_of_user.sql")
        );
        let plan: Vec<String> = sqlx::query(&query)
            .bind(1_i64)
            .bind(0_i64)
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("USING INDEX sessions_user_last_seen (user_id=?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
