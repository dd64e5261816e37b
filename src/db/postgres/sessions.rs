//! Cookie sessions in PostgreSQL, keyed by the SHA-256 of their ID. Every read takes `now` and
//! ignores expired rows.

use super::Postgres;
use crate::db::{
    is_unique_violation,
    rows::{SessionRow, SessionRowUpdate, TableFootprint},
};

impl Postgres {
    pub async fn insert_session(&self, row: &SessionRow, data: &str) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query!(
            "insert into sessions
                 (id_hash, public_id, user_id, device, ip, created_at, last_seen_at, expires_at,
                  remembered, data)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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

    /// The new data keeps the stored role (`#>` reads it at the key path); a session stored
    /// without one takes the new data's.
    pub async fn update_live_session(
        &self,
        id_hash: &[u8],
        update: &SessionRowUpdate<'_>,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query!(
            "update sessions set ip = $1, last_seen_at = $2, expires_at = $3,
                 data = coalesce(jsonb_set($4::text::jsonb, $5, data::jsonb #> $5),
                                 $4::text::jsonb)::text
             where id_hash = $6 and expires_at > $7",
            update.ip,
            update.last_seen_at,
            update.expires_at,
            update.data,
            update.role_path as &[&str],
            id_hash,
            now,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn live_session_data(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query!(
            "select data, expires_at from sessions where id_hash = $1 and expires_at > $2",
            id_hash,
            now,
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|row| (row.data, row.expires_at)))
    }

    /// Every read of PostgreSQL goes through the pool.
    pub async fn live_session_data_pooled(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        self.live_session_data(id_hash, now).await
    }

    /// Nothing is kept: servers on other machines share no memory that could say when a kept
    /// session changed, so every read reads the row.
    pub async fn live_session_data_read(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<(String, i64)>, sqlx::Error> {
        self.live_session_data(id_hash, now).await
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
             from sessions where id_hash = $1 and expires_at > $2",
            id_hash,
            now,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, sqlx::Error> {
        let result = sqlx::query!("delete from sessions where id_hash = $1", id_hash)
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn live_sessions_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error> {
        sqlx::query_as!(
            SessionRow,
            "select id_hash, public_id, user_id, device, ip, created_at, last_seen_at, expires_at,
                 remembered
             from sessions where user_id = $1 and expires_at > $2
             order by last_seen_at desc, created_at desc",
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
        let result = sqlx::query!(
            "delete from sessions where user_id = $1 and public_id = $2",
            user_id,
            public_id,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let result = sqlx::query!(
            "delete from sessions where user_id = $1 and public_id is distinct from $2",
            user_id,
            keep,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn set_role_in_sessions_of_user(
        &self,
        user_id: i64,
        path: &[&str],
        role: &str,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let result = sqlx::query!(
            "update sessions set data = jsonb_set(data::jsonb, $1, to_jsonb($2::text))::text
             where user_id = $3 and expires_at > $4",
            path as &[&str],
            role,
            user_id,
            now,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query!("delete from sessions where expires_at <= $1", now)
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected())
    }

    pub async fn sessions_footprint(&self) -> Result<TableFootprint, sqlx::Error> {
        // The table, its indexes and its TOAST table.
        sqlx::query_as!(
            TableFootprint,
            r#"select count(*) as "rows!", pg_total_relation_size('sessions') as "bytes!"
               from sessions"#
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
             values ($1, $2, $3, $4, $5)
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
            "select reason from ended_sessions where id_hash = $1 and expires_at > $2",
            id_hash,
            now,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_expired_ended_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query!("delete from ended_sessions where expires_at <= $1", now)
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }
}
