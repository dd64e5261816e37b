//! JWT mode's refresh-token families and tokens, keyed by SHA-256 hashes of the tokens.

use super::Db;
use crate::model::{Lifetimes, RevocationReason};

/// A refresh-token family: one device signed in with JWTs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyRow {
    pub id: i64,
    pub public_id: String,
    pub user_id: i64,
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub access_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// Signed in with "Remember me": the long lifetimes.
    pub remembered: bool,
}

/// One token of a family, for its rotation history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub ip: String,
    pub is_first: bool,
}

/// A family to start at sign-in, with its first token.
pub struct NewFamily<'a> {
    pub public_id: &'a str,
    pub user_id: i64,
    pub device: &'a str,
    pub ip: &'a str,
    pub now: i64,
    pub token_hash: &'a [u8],
    pub token_expires_at: i64,
    pub access_jti: &'a str,
    pub access_expires_at: i64,
    pub remembered: bool,
}

/// An exchange of a presented refresh token for its successor.
pub struct Rotation<'a> {
    pub presented_hash: &'a [u8],
    /// The successor's hash: the same for every exchange of the same token.
    pub new_hash: &'a [u8],
    /// The access token that goes with the new refresh token.
    pub access_jti: &'a str,
    pub ip: &'a str,
    pub now: i64,
    /// A token used this many seconds ago or less may be exchanged again (two tabs at once).
    pub grace: i64,
    /// How long a family lives unused (a refresh token's lifetime) and at most, with
    /// "Remember me" and without.
    pub lifetimes: Lifetimes,
    pub access_ttl: i64,
    /// At most this many exchanges per family within a minute.
    pub max_per_minute: i64,
    /// A family keeps at most this many tokens: older spent ones are deleted.
    pub kept_per_family: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The successor is stored (or was, by an exchange within the grace window); the family as
    /// it now stands.
    Rotated {
        family: FamilyRow,
        token_expires_at: i64,
        /// When the successor was issued, and the id of the access token issued with it: an
        /// exchange within the grace window re-issues that same access token.
        issued_at: i64,
        access_jti: String,
        within_grace: bool,
    },
    /// The family was exchanged too often lately: try again in this many seconds.
    TooFrequent {
        retry_after: i64,
    },
    Unknown,
    Expired,
    /// The family was revoked earlier (sign-out, kill, reuse...), for the reason stored.
    Revoked {
        reason: Option<String>,
    },
    /// An already-used token came back after the grace window: the family is revoked now.
    Reused {
        family_id: i64,
    },
}

impl Db {
    /// Starts a family with its first token.
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

    /// Exchanges a refresh token for its successor, atomically: the write lock is taken first
    /// (`BEGIN IMMEDIATE`), so two exchanges of the same token are decided one after the other.
    pub async fn rotate_refresh_token(
        &self,
        rotation: &Rotation<'_>,
    ) -> Result<RotationOutcome, sqlx::Error> {
        let now = rotation.now;
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let Some(found) = sqlx::query!(
            r#"select t.family_id, t.used_at, t.expires_at, t.created_at,
                   f.revoked_at as family_revoked_at, f.revoked_reason as family_revoked_reason,
                   f.created_at as family_created_at, f.remembered as family_remembered
               from refresh_tokens t join refresh_families f on f.id = t.family_id
               where t.hash = ?"#,
            rotation.presented_hash,
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(RotationOutcome::Unknown);
        };
        if found.family_revoked_at.is_some() {
            return Ok(RotationOutcome::Revoked {
                reason: found.family_revoked_reason,
            });
        }
        // The family's lifetime under today's settings, whatever they were when the presented
        // token was issued: a tightened policy applies to every device at once.
        let lifetime = rotation.lifetimes.of(found.family_remembered);
        let token_expires_at = lifetime.ends_at(found.family_created_at, now);
        if found.expires_at <= now
            || lifetime.has_ended(found.family_created_at, found.created_at, now)
        {
            return Ok(RotationOutcome::Expired);
        }
        match found.used_at {
            None => {}
            Some(used_at) if now - used_at <= rotation.grace => {
                // Two tabs at once, or a retry: the successor already issued, never a sibling.
                let Some(child) = sqlx::query!(
                    r#"select hash, created_at, expires_at, access_jti
                       from refresh_tokens where parent_hash = ? order by id limit 1"#,
                    rotation.presented_hash,
                )
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(RotationOutcome::Unknown);
                };
                if child.hash != rotation.new_hash {
                    // The successor key changed since (a new signing secret): no replay.
                    return Ok(RotationOutcome::Unknown);
                }
                let family = family_in(&mut tx, found.family_id).await?;
                tx.commit().await?;
                return Ok(RotationOutcome::Rotated {
                    family,
                    token_expires_at: child.expires_at,
                    issued_at: child.created_at,
                    access_jti: child.access_jti,
                    within_grace: true,
                });
            }
            Some(_) => {
                revoke_family_in(&mut tx, found.family_id, RevocationReason::Reused, now).await?;
                tx.commit().await?;
                return Ok(RotationOutcome::Reused {
                    family_id: found.family_id,
                });
            }
        }
        // A client looping on refresh is slowed down before it writes anything.
        let minute_ago = now - 60;
        let recent = sqlx::query!(
            r#"select count(*) as "count!: i64", min(created_at) as "oldest: i64"
               from refresh_tokens where family_id = ? and created_at > ?"#,
            found.family_id,
            minute_ago,
        )
        .fetch_one(&mut *tx)
        .await?;
        if let Some(oldest) = recent
            .oldest
            .filter(|_| recent.count >= rotation.max_per_minute)
        {
            return Ok(RotationOutcome::TooFrequent {
                retry_after: (oldest + 60 - now).max(1),
            });
        }
        let marked = sqlx::query!(
            "update refresh_tokens set used_at = ? where hash = ? and used_at is null",
            now,
            rotation.presented_hash,
        )
        .execute(&mut *tx)
        .await?;
        // Under the write lock nobody can have marked it meanwhile; checked all the same.
        if marked.rows_affected() != 1 {
            return Ok(RotationOutcome::Revoked { reason: None });
        }
        let access_expires_at = now + rotation.access_ttl;
        sqlx::query!(
            "insert into refresh_tokens
                 (hash, family_id, parent_hash, created_at, expires_at, ip, access_jti,
                  access_expires_at)
             values (?, ?, ?, ?, ?, ?, ?, ?)",
            rotation.new_hash,
            found.family_id,
            rotation.presented_hash,
            now,
            token_expires_at,
            rotation.ip,
            rotation.access_jti,
            access_expires_at,
        )
        .execute(&mut *tx)
        .await?;
        // A family is a chain with one live tip; its old links are only history. Keep the
        // newest few (the tip, its parent for the grace window, recent history).
        sqlx::query!(
            "delete from refresh_tokens
             where family_id = ? and id not in (
                 select id from refresh_tokens where family_id = ? order by id desc limit ?
             )",
            found.family_id,
            found.family_id,
            rotation.kept_per_family,
        )
        .execute(&mut *tx)
        .await?;
        let family = sqlx::query_as!(
            FamilyRow,
            r#"update refresh_families
               set last_used_at = ?, ip = ?, expires_at = max(expires_at, ?),
                   access_expires_at = max(access_expires_at, ?)
               where id = ?
               returning id as "id!", public_id, user_id, device, ip, created_at, last_used_at,
                   expires_at, access_expires_at, revoked_at, revoked_reason, remembered"#,
            now,
            rotation.ip,
            token_expires_at,
            access_expires_at,
            found.family_id,
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RotationOutcome::Rotated {
            family,
            token_expires_at,
            issued_at: now,
            access_jti: rotation.access_jti.to_owned(),
            within_grace: false,
        })
    }

    /// The user's families worth showing: live ones, and revoked ones whose last access token
    /// has not yet expired (the device still gets in until then).
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

    /// The user and public id of the family a refresh token belongs to, whatever became of it.
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

    /// The tokens of a family, oldest first: its rotation history.
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

    /// Revokes one live family of `user_id`; `Ok(None)` if they have no such live family.
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

    /// Revokes every live family of `user_id` but `keep`; returns them.
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

    /// The role its user has now, if the family named by an access token's `sid` may still be
    /// used (neither revoked nor expired): the one read of the "session-check" revocation
    /// setting, which so also brings the role up to date. Read on this thread when the
    /// database is a file (`reader.rs`), through the pool otherwise or if that read fails.
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

    /// The same read through the pool: sqlx checks the query against the schema.
    pub async fn live_family_role_pooled(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_file_scalar!("src/db/sql/live_family_role.sql", public_id, now)
            .fetch_optional(self.pool())
            .await
    }

    /// Whether the family `public_id` is neither revoked nor expired.
    pub async fn family_is_live(&self, public_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        Ok(self.live_family_role(public_id, now).await?.is_some())
    }

    /// How many live families the user has, and the latest expiry among their access tokens
    /// issued at or before `issued_by` that have not expired: until then a device of theirs
    /// holds a token with the claims it was given then.
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

    /// The access tokens issued to a family that have not expired yet: `(jti, exp)`.
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

    /// Every access token that has not expired yet of a revoked family: `(jti, exp)`. What a
    /// server's denylist must hold, whichever server revoked them.
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

    /// Removes a family and its tokens outright (the load generator's, after its drill).
    pub async fn delete_family(&self, public_id: &str) -> Result<bool, sqlx::Error> {
        let result = sqlx::query!(
            "delete from refresh_families where public_id = ?",
            public_id
        )
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The sweeper's query: families whose tokens and access tokens have all expired.
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
