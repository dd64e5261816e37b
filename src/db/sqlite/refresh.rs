//! JWT mode's refresh-token families and tokens in SQLite, keyed by SHA-256 hashes of the tokens.

use sqlx::{Sqlite as SqliteDatabase, Transaction};

use super::Sqlite;
use crate::{
    db::{
        rotation::{self, Presented, RotationSteps, Successor},
        rows::{FamilyRow, NewFamily, Rotation, RotationOutcome, TokenRow},
    },
    model::RevocationReason,
};

impl Sqlite {
    pub async fn insert_family(&self, new: &NewFamily<'_>) -> Result<FamilyRow, sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let family = sqlx::query_as!(
            FamilyRow,
            r#"insert into refresh_families
                   (public_id, user_id, device, ip, created_at, last_used_at, expires_at,
                    access_expires_at, remembered)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?)
               returning id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
                   expires_at, access_expires_at, revoked_at, revoked_reason, remembered"#,
            new.public_id,
            new.user_id,
            new.device,
            new.ip,
            new.now,
            new.now,
            new.token_expires_at,
            new.access_expires_at,
            new.remembered,
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into refresh_tokens
                 (hash, family_id, parent_hash, created_at, expires_at, ip, access_jti,
                  access_expires_at)
             values (?, ?, null, ?, ?, ?, ?, ?)",
            new.token_hash,
            family.id,
            new.now,
            new.token_expires_at,
            new.ip,
            new.access_jti,
            new.access_expires_at,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(family)
    }

    pub async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<RotationOutcome, sqlx::Error> {
        let tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        rotation::rotate(Steps(tx), rotation).await
    }

    pub async fn visible_families_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<FamilyRow>, sqlx::Error> {
        sqlx::query_as!(
            FamilyRow,
            r#"select id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
                   expires_at, access_expires_at, revoked_at, revoked_reason, remembered
               from refresh_families
               where user_id = ?
                 and ((revoked_at is null and expires_at > ?) or access_expires_at > ?)
               order by last_used_at desc, created_at desc"#,
            user_id,
            now,
            now,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn family(&self, public_id: &str) -> Result<Option<FamilyRow>, sqlx::Error> {
        sqlx::query_as!(
            FamilyRow,
            r#"select id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
                   expires_at, access_expires_at, revoked_at, revoked_reason, remembered
               from refresh_families where public_id = ?"#,
            public_id,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn family_of_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(i64, String)>, sqlx::Error> {
        let found = sqlx::query!(
            r#"select f.user_id, f.public_id
               from refresh_tokens t join refresh_families f on f.id = t.family_id
               where t.hash = ?"#,
            token_hash,
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(found.map(|row| (row.user_id, row.public_id)))
    }

    pub async fn tokens_of_family(&self, family_id: i64) -> Result<Vec<TokenRow>, sqlx::Error> {
        sqlx::query_as!(
            TokenRow,
            r#"select created_at, expires_at, used_at, revoked_at, ip,
                   parent_hash is null as "is_first!: bool"
               from refresh_tokens where family_id = ? order by id"#,
            family_id,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn revoke_family_of_user(
        &self,
        user_id: i64,
        public_id: &str,
        reason: RevocationReason,
        now: i64,
    ) -> Result<Option<FamilyRow>, sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let Some(id) = sqlx::query_scalar!(
            r#"select id as "id!" from refresh_families
               where user_id = ? and public_id = ? and revoked_at is null and expires_at > ?"#,
            user_id,
            public_id,
            now,
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let family = revoke_family_in(&mut tx, id, reason, now).await?;
        tx.commit().await?;
        Ok(Some(family))
    }

    pub async fn revoke_families_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevocationReason,
        now: i64,
    ) -> Result<Vec<FamilyRow>, sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let ids = sqlx::query_scalar!(
            r#"select id as "id!" from refresh_families
               where user_id = ? and public_id is not ? and revoked_at is null and expires_at > ?"#,
            user_id,
            keep,
            now,
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut revoked = Vec::with_capacity(ids.len());
        for id in ids {
            revoked.push(revoke_family_in(&mut tx, id, reason, now).await?);
        }
        tx.commit().await?;
        Ok(revoked)
    }

    pub async fn live_family_role(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        match self.direct(self.reader.live_family_role(public_id, now)) {
            Some(role) => Ok(role),
            None => self.live_family_role_pooled(public_id, now).await,
        }
    }

    pub async fn live_family_role_pooled(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_file_scalar!("src/db/sqlite/sql/live_family_role.sql", public_id, now)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn claims_issued_by(
        &self,
        user_id: i64,
        issued_by: i64,
        now: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error> {
        let row = sqlx::query!(
            r#"select count(distinct f.id) as "families!: i64",
                   max(t.access_expires_at) as "latest: i64"
               from refresh_families f
               left join refresh_tokens t
                   on t.family_id = f.id and t.created_at <= ? and t.access_expires_at > ?
               where f.user_id = ? and f.revoked_at is null and f.expires_at > ?"#,
            issued_by,
            now,
            user_id,
            now,
        )
        .fetch_one(self.pool())
        .await?;
        Ok((row.families, row.latest))
    }

    pub async fn live_access_tokens_of_family(
        &self,
        family_id: i64,
        now: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query!(
            "select access_jti, access_expires_at from refresh_tokens
             where family_id = ? and access_expires_at > ?",
            family_id,
            now,
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.access_jti, row.access_expires_at))
            .collect())
    }

    pub async fn denied_access_tokens(&self, now: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query!(
            "select t.access_jti, t.access_expires_at
             from refresh_tokens t join refresh_families f on f.id = t.family_id
             where t.access_expires_at > ? and f.revoked_at is not null",
            now,
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.access_jti, row.access_expires_at))
            .collect())
    }

    pub async fn delete_family(&self, public_id: &str) -> Result<bool, sqlx::Error> {
        let result = sqlx::query!(
            "delete from refresh_families where public_id = ?",
            public_id
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_expired_families(&self, now: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query!(
            "delete from refresh_families where expires_at <= ? and access_expires_at <= ?",
            now,
            now,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }
}

/// A family as it stands, inside the caller's transaction.
async fn family_in(
    tx: &mut sqlx::SqliteConnection,
    family_id: i64,
) -> Result<FamilyRow, sqlx::Error> {
    sqlx::query_as!(
        FamilyRow,
        r#"select id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
               expires_at, access_expires_at, revoked_at, revoked_reason, remembered
           from refresh_families where id = ?"#,
        family_id,
    )
    .fetch_one(&mut *tx)
    .await
}

/// Marks a family and its unrevoked tokens revoked, inside the caller's transaction.
async fn revoke_family_in(
    tx: &mut sqlx::SqliteConnection,
    family_id: i64,
    reason: RevocationReason,
    now: i64,
) -> Result<FamilyRow, sqlx::Error> {
    let reason_key = reason.key();
    sqlx::query!(
        "update refresh_tokens set revoked_at = ? where family_id = ? and revoked_at is null",
        now,
        family_id,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query_as!(
        FamilyRow,
        r#"update refresh_families set revoked_at = ?, revoked_reason = ? where id = ?
           returning id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
               expires_at, access_expires_at, revoked_at, revoked_reason, remembered"#,
        now,
        reason_key,
        family_id,
    )
    .fetch_one(&mut *tx)
    .await
}

/// An exchange's statements, inside a transaction that holds the write lock.
struct Steps<'c>(Transaction<'c, SqliteDatabase>);

impl RotationSteps for Steps<'_> {
    async fn presented(&mut self, hash: &[u8]) -> Result<Option<Presented>, sqlx::Error> {
        sqlx::query_as!(
            Presented,
            r#"select t.family_id, t.used_at, t.expires_at, t.created_at,
                   f.revoked_at as family_revoked_at, f.revoked_reason as family_revoked_reason,
                   f.created_at as family_created_at, f.remembered as family_remembered
               from refresh_tokens t join refresh_families f on f.id = t.family_id
               where t.hash = ?"#,
            hash,
        )
        .fetch_optional(&mut *self.0)
        .await
    }

    async fn successor(&mut self, parent_hash: &[u8]) -> Result<Option<Successor>, sqlx::Error> {
        sqlx::query_as!(
            Successor,
            "select hash, created_at, expires_at, access_jti
             from refresh_tokens where parent_hash = ? order by id limit 1",
            parent_hash,
        )
        .fetch_optional(&mut *self.0)
        .await
    }

    async fn family(&mut self, family_id: i64) -> Result<FamilyRow, sqlx::Error> {
        family_in(&mut self.0, family_id).await
    }

    async fn revoke_family(
        &mut self,
        family_id: i64,
        reason: RevocationReason,
        now: i64,
    ) -> Result<FamilyRow, sqlx::Error> {
        revoke_family_in(&mut self.0, family_id, reason, now).await
    }

    async fn issued_since(
        &mut self,
        family_id: i64,
        since: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error> {
        let recent = sqlx::query!(
            r#"select count(*) as "count!: i64", min(created_at) as "oldest: i64"
               from refresh_tokens where family_id = ? and created_at > ?"#,
            family_id,
            since,
        )
        .fetch_one(&mut *self.0)
        .await?;
        Ok((recent.count, recent.oldest))
    }

    async fn mark_used(&mut self, hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
        let marked = sqlx::query!(
            "update refresh_tokens set used_at = ? where hash = ? and used_at is null",
            now,
            hash,
        )
        .execute(&mut *self.0)
        .await?;
        Ok(marked.rows_affected() == 1)
    }

    async fn insert_successor(
        &mut self,
        family_id: i64,
        rotation: &Rotation<'_>,
        expires_at: i64,
        access_expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "insert into refresh_tokens
                 (hash, family_id, parent_hash, created_at, expires_at, ip, access_jti,
                  access_expires_at)
             values (?, ?, ?, ?, ?, ?, ?, ?)",
            rotation.new_hash,
            family_id,
            rotation.presented_hash,
            rotation.now,
            expires_at,
            rotation.ip,
            rotation.access_jti,
            access_expires_at,
        )
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn keep_newest_tokens(&mut self, family_id: i64, kept: i64) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "delete from refresh_tokens
             where family_id = ? and id not in (
                 select id from refresh_tokens where family_id = ? order by id desc limit ?
             )",
            family_id,
            family_id,
            kept,
        )
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn touch_family(
        &mut self,
        family_id: i64,
        rotation: &Rotation<'_>,
        expires_at: i64,
        access_expires_at: i64,
    ) -> Result<FamilyRow, sqlx::Error> {
        sqlx::query_as!(
            FamilyRow,
            r#"update refresh_families
               set last_used_at = ?, ip = ?, expires_at = max(expires_at, ?),
                   access_expires_at = max(access_expires_at, ?)
               where id = ?
               returning id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
                   expires_at, access_expires_at, revoked_at, revoked_reason, remembered"#,
            rotation.now,
            rotation.ip,
            expires_at,
            access_expires_at,
            family_id,
        )
        .fetch_one(&mut *self.0)
        .await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}
