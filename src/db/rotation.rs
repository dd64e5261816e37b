//! The rules of a refresh-token exchange, written once for both databases.
//!
//! Each database supplies the steps ([`RotationSteps`]) inside one transaction in which nothing
//! else can change the presented token's family: SQLite takes the database's write lock before
//! the first read (`BEGIN IMMEDIATE`); PostgreSQL locks the token's and the family's rows
//! (`SELECT … FOR UPDATE`), so exchanges of different families run side by side and two
//! exchanges of one family are decided one after the other, the second seeing the first's
//! writes.

use super::rows::{FamilyRow, Rotation, RotationOutcome};
use crate::model::RevocationReason;

/// The presented token, its family's state, as read (and locked) by [`RotationSteps::presented`].
pub(super) struct Presented {
    pub family_id: i64,
    pub used_at: Option<i64>,
    pub expires_at: i64,
    pub created_at: i64,
    pub family_revoked_at: Option<i64>,
    pub family_revoked_reason: Option<String>,
    pub family_created_at: i64,
    pub family_remembered: bool,
}

/// The successor a token was already exchanged for.
pub(super) struct Successor {
    pub hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub access_jti: String,
}

/// One transaction's statements, in the database's own SQL.
pub(super) trait RotationSteps {
    /// The token whose hash is `hash` and its family, held against every other change of the
    /// family until the transaction ends.
    async fn presented(&mut self, hash: &[u8]) -> Result<Option<Presented>, sqlx::Error>;
    /// The first token issued in exchange for `parent_hash`.
    async fn successor(&mut self, parent_hash: &[u8]) -> Result<Option<Successor>, sqlx::Error>;
    async fn family(&mut self, family_id: i64) -> Result<FamilyRow, sqlx::Error>;
    /// Marks the family and its unrevoked tokens revoked.
    async fn revoke_family(
        &mut self,
        family_id: i64,
        reason: RevocationReason,
        now: i64,
    ) -> Result<FamilyRow, sqlx::Error>;
    /// How many tokens the family was given after `since`, and when the oldest of them was.
    async fn issued_since(
        &mut self,
        family_id: i64,
        since: i64,
    ) -> Result<(i64, Option<i64>), sqlx::Error>;
    /// Marks the token used unless it was; whether it was not.
    async fn mark_used(&mut self, hash: &[u8], now: i64) -> Result<bool, sqlx::Error>;
    async fn insert_successor(
        &mut self,
        family_id: i64,
        rotation: &Rotation<'_>,
        expires_at: i64,
        access_expires_at: i64,
    ) -> Result<(), sqlx::Error>;
    /// Deletes all but the family's newest `kept` tokens.
    async fn keep_newest_tokens(&mut self, family_id: i64, kept: i64) -> Result<(), sqlx::Error>;
    /// Records the exchange on the family: when, from where, and its new expiries (never
    /// moved earlier).
    async fn touch_family(
        &mut self,
        family_id: i64,
        rotation: &Rotation<'_>,
        expires_at: i64,
        access_expires_at: i64,
    ) -> Result<FamilyRow, sqlx::Error>;
    async fn commit(self) -> Result<(), sqlx::Error>;
}

/// Exchanges a refresh token for its successor, atomically. A transaction dropped without
/// [`RotationSteps::commit`] rolls back, so the early returns below write nothing.
pub(super) async fn rotate(
    mut steps: impl RotationSteps,
    rotation: &Rotation<'_>,
) -> Result<RotationOutcome, sqlx::Error> {
    let now = rotation.now;
    let Some(found) = steps.presented(rotation.presented_hash).await? else {
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
    if found.expires_at <= now || lifetime.has_ended(found.family_created_at, found.created_at, now)
    {
        return Ok(RotationOutcome::Expired);
    }
    match found.used_at {
        None => {}
        Some(used_at) if now - used_at <= rotation.grace => {
            // Two tabs at once, or a retry: the successor already issued, never a sibling.
            let Some(child) = steps.successor(rotation.presented_hash).await? else {
                return Ok(RotationOutcome::Unknown);
            };
            if child.hash != rotation.new_hash {
                // The successor key changed since (a new signing secret): no replay.
                return Ok(RotationOutcome::Unknown);
            }
            let family = steps.family(found.family_id).await?;
            steps.commit().await?;
            return Ok(RotationOutcome::Rotated {
                family,
                token_expires_at: child.expires_at,
                issued_at: child.created_at,
                access_jti: child.access_jti,
                within_grace: true,
            });
        }
        Some(_) => {
            steps
                .revoke_family(found.family_id, RevocationReason::Reused, now)
                .await?;
            steps.commit().await?;
            return Ok(RotationOutcome::Reused {
                family_id: found.family_id,
            });
        }
    }
    // A client looping on refresh is slowed down before it writes anything.
    let (count, oldest) = steps.issued_since(found.family_id, now - 60).await?;
    if let Some(oldest) = oldest.filter(|_| count >= rotation.max_per_minute) {
        return Ok(RotationOutcome::TooFrequent {
            retry_after: (oldest + 60 - now).max(1),
        });
    }
    // Nobody can have marked it meanwhile (the family is held); checked all the same.
    if !steps.mark_used(rotation.presented_hash, now).await? {
        return Ok(RotationOutcome::Revoked { reason: None });
    }
    let access_expires_at = now + rotation.access_ttl;
    steps
        .insert_successor(
            found.family_id,
            rotation,
            token_expires_at,
            access_expires_at,
        )
        .await?;
    // A family is a chain with one live tip; its old links are only history. Keep the newest
    // few (the tip, its parent for the grace window, recent history).
    steps
        .keep_newest_tokens(found.family_id, rotation.kept_per_family)
        .await?;
    let family = steps
        .touch_family(
            found.family_id,
            rotation,
            token_expires_at,
            access_expires_at,
        )
        .await?;
    steps.commit().await?;
    Ok(RotationOutcome::Rotated {
        family,
        token_expires_at,
        issued_at: now,
        access_jti: rotation.access_jti.to_owned(),
        within_grace: false,
    })
}
