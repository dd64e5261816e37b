//! JWT mode's refresh-token families and tokens in PostgreSQL, keyed by SHA-256 hashes of the
//! tokens.

use sqlx::{PgConnection, Postgres as PostgresDatabase, Transaction};

use super::Postgres;
use crate::{
    db::{
        rotation::{self, Presented, RotationSteps, Successor},
        rows::{FamilyRow, NewFamily, Rotation, RotationOutcome, TokenRow},
    },
    model::RevocationReason,
};

impl Postgres {
    pub async fn insert_family(&self, new: &NewFamily<'_>) -> Result<FamilyRow, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let family = sqlx::query_as!(
            FamilyRow,
            "insert into refresh_families
                 (public_id, user_id, device, ip, created_at, last_used_at, expires_at,
                  access_expires_at, remembered)
             values ($1, $2, $3, $4, $5, $5, $6, $7, $8)
             returning id, public_id, user_id, device, ip, created_at, last_used_at,
                 expires_at, access_expires_at, revoked_at, revoked_reason, remembered",
            new.public_id,
            new.user_id,
            new.device,
            new.ip,
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
             values ($1, $2, null, $3, $4, $5, $6, $7)",
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

    /// [`rotation`]'s rules; the presented token's row and its family's are locked by the first
    /// read, so two exchanges of one family are decided one after the other.
    pub async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<RotationOutcome, sqlx::Error> {
        let tx = self.pool().begin().await?;
        rotation::rotate(Steps(tx), rotation).await
    }

    pub async fn visible_families_of_user(
        &self,
        user_id: i64,
        now: i64,
    ) -> Result<Vec<FamilyRow>, sqlx::Error> {
        sqlx::query_as!(
            FamilyRow,
            "select id, public_id, user_id, device, ip, created_at, last_used_at,
                 expires_at, access_expires_at, revoked_at, revoked_reason, remembered
             from refresh_families
             where user_id = $1
               and ((revoked_at is null and expires_at > $2) or access_expires_at > $2)
             order by last_used_at desc, created_at desc",
            user_id,
            now,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn family(&self, public_id: &str) -> Result<Option<FamilyRow>, sqlx::Error> {
        sqlx::query_as!(
            FamilyRow,
            "select id, public_id, user_id, device, ip, created_at, last_used_at,
                 expires_at, access_expires_at, revoked_at, revoked_reason, remembered
             from refresh_families where public_id = $1",
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
            "select f.user_id, f.public_id
             from refresh_tokens t join refresh_families f on f.id = t.family_id
             where t.hash = $1",
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
                   parent_hash is null as "is_first!"
               from refresh_tokens where family_id = $1 order by id"#,
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
        let mut tx = self.pool().begin().await?;
        let Some(id) = sqlx::query_scalar!(
            "select id from refresh_families
             where user_id = $1 and public_id = $2 and revoked_at is null and expires_at > $3
             for update",
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
        let mut tx = self.pool().begin().await?;
        let ids = sqlx::query_scalar!(
            "select id from refresh_families
             where user_id = $1 and public_id is distinct from $2 and revoked_at is null
               and expires_at > $3
             order by id
             for update",
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
        sqlx::query_scalar!(
            "select u.role from refresh_families f join users u on u.id = f.user_id
             where f.public_id = $1 and f.revoked_at is null and f.expires_at > $2",
            public_id,
            now,
        )
        .fetch_optional(self.pool())
        .await
    }

    /// Every read of PostgreSQL goes through the pool.
    pub async fn live_family_role_pooled(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        self.live_family_role(public_id, now).await
    }

    pub async fn claims_issued_by(
        &self,
        user_id: i64,
        issued_by: i64,
        now: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error> {
        let row = sqlx::query!(
            r#"select count(distinct f.id) as "families!", max(t.access_expires_at) as latest
               from refresh_families f
               left join refresh_tokens t
                   on t.family_id = f.id and t.created_at <= $1 and t.access_expires_at > $2
               where f.user_id = $3 and f.revoked_at is null and f.expires_at > $2"#,
            issued_by,
            now,
            user_id,
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
             where family_id = $1 and access_expires_at > $2",
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
             where t.access_expires_at > $1 and f.revoked_at is not null",
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
            "delete from refresh_families where public_id = $1",
            public_id
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_expired_families(&self, now: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query!(
            "delete from refresh_families where expires_at <= $1 and access_expires_at <= $1",
            now,
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }
}

async fn family_in(tx: &mut PgConnection, family_id: i64) -> Result<FamilyRow, sqlx::Error> {
    sqlx::query_as!(
        FamilyRow,
        "select id, public_id, user_id, device, ip, created_at, last_used_at,
             expires_at, access_expires_at, revoked_at, revoked_reason, remembered
         from refresh_families where id = $1",
        family_id,
    )
    .fetch_one(&mut *tx)
    .await
}

/// Marks a family and its unrevoked tokens revoked, inside the caller's transaction.
async fn revoke_family_in(
    tx: &mut PgConnection,
    family_id: i64,
    reason: RevocationReason,
    now: i64,
) -> Result<FamilyRow, sqlx::Error> {
    sqlx::query!(
        "update refresh_tokens set revoked_at = $1 where family_id = $2 and revoked_at is null",
        now,
        family_id,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query_as!(
        FamilyRow,
        "update refresh_families set revoked_at = $1, revoked_reason = $2 where id = $3
         returning id, public_id, user_id, device, ip, created_at, last_used_at,
             expires_at, access_expires_at, revoked_at, revoked_reason, remembered",
        now,
        reason.key(),
        family_id,
    )
    .fetch_one(&mut *tx)
    .await
}

/// An exchange's statements, inside a transaction that holds the family's row.
struct Steps<'c>(Transaction<'c, PostgresDatabase>);

impl RotationSteps for Steps<'_> {
    /// Two statements: the first locks the family's row (every writer of a family locks it
    /// first, so none waits for another in a cycle); the second, begun once the lock is held,
    /// reads the token and family as the previous holder left them.
    async fn presented(&mut self, hash: &[u8]) -> Result<Option<Presented>, sqlx::Error> {
        let locked = sqlx::query_scalar!(
            "select f.id from refresh_families f join refresh_tokens t on t.family_id = f.id
             where t.hash = $1
             for update of f",
            hash,
        )
        .fetch_optional(&mut *self.0)
        .await?;
        if locked.is_none() {
            return Ok(None);
        }
        sqlx::query_as!(
            Presented,
            "select t.family_id, t.used_at, t.expires_at, t.created_at,
                 f.revoked_at as family_revoked_at, f.revoked_reason as family_revoked_reason,
                 f.created_at as family_created_at, f.remembered as family_remembered
             from refresh_tokens t join refresh_families f on f.id = t.family_id
             where t.hash = $1",
            hash,
        )
        .fetch_optional(&mut *self.0)
        .await
    }

    async fn successor(&mut self, parent_hash: &[u8]) -> Result<Option<Successor>, sqlx::Error> {
        sqlx::query_as!(
            Successor,
            "select hash, created_at, expires_at, access_jti
             from refresh_tokens where parent_hash = $1 order by id limit 1",
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
            r#"select count(*) as "count!", min(created_at) as oldest
               from refresh_tokens where family_id = $1 and created_at > $2"#,
            family_id,
            since,
        )
        .fetch_one(&mut *self.0)
        .await?;
        Ok((recent.count, recent.oldest))
    }

    async fn mark_used(&mut self, hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
        let marked = sqlx::query!(
            "update refresh_tokens set used_at = $1 where hash = $2 and used_at is null",
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
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
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
             where family_id = $1 and id not in (
                 select id from refresh_tokens where family_id = $1 order by id desc limit $2
             )",
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
            "update refresh_families
             set last_used_at = $1, ip = $2, expires_at = greatest(expires_at, $3),
                 access_expires_at = greatest(access_expires_at, $4)
             where id = $5
             returning id, public_id, user_id, device, ip, created_at, last_used_at,
                 expires_at, access_expires_at, revoked_at, revoked_reason, remembered",
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
