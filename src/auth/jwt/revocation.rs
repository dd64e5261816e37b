//! What a kill does to access tokens already out there: the revocation setting
//! (`JWT_REVOCATION`).
//!
//! - `pure`: nothing. The signature is all that is checked; a killed device's token works until
//!   its `exp`.
//! - `session-check`: every request also reads the token's refresh family (`sid`): one indexed
//!   read, and a kill takes effect at once.
//! - `denylist`: the `jti`s of revoked access tokens, in memory, each until its token's `exp`
//!   (after that the signature check refuses the token anyway). A lookup costs no database read;
//!   the price is memory, and that the list is this server's alone.

use std::{
    collections::{BTreeSet, HashMap},
    sync::Mutex,
};

use super::{JwtMode, claims::AccessClaims};
use crate::{auth::user::Refusal, core::sync::lock, error::AppError, model::Revocation};

/// Revoked `jti`s until their `exp`. Besides the map, an index orders them by expiry, so each
/// insert drops the expired ones from the front, never scanning the rest: O(log n) per entry.
#[derive(Debug, Default)]
pub struct Denylist {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    until: HashMap<String, i64>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl Denylist {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        lock(&self.entries)
    }

    /// Refuses `jti` until `exp`; drops the entries whose tokens have expired meanwhile.
    pub fn deny(&self, jti: String, exp: i64, now: i64) {
        let mut entries = self.entries();
        let Entries { until, by_expiry } = &mut *entries;
        while let Some((expiry, _)) = by_expiry.first()
            && *expiry <= now
        {
            if let Some((_, gone)) = by_expiry.pop_first() {
                until.remove(&gone);
            }
        }
        if let Some(previous) = until.insert(jti.clone(), exp) {
            by_expiry.remove(&(previous, jti.clone()));
        }
        by_expiry.insert((exp, jti));
    }

    pub fn denies(&self, jti: &str, now: i64) -> bool {
        self.entries()
            .until
            .get(jti)
            .is_some_and(|until| *until > now)
    }

    /// Entries, and the bytes they take: the map's and the index's slots plus each `jti`'s
    /// heap bytes (held twice).
    pub fn footprint(&self) -> (usize, usize) {
        let entries = self.entries();
        let slot = std::mem::size_of::<(String, i64)>() + 1;
        let heap: usize = entries.until.keys().map(String::capacity).sum();
        (
            entries.until.len(),
            entries.until.capacity() * slot + entries.by_expiry.len() * slot + 2 * heap,
        )
    }
}

impl JwtMode {
    /// Puts every unexpired access token of a revoked family on the denylist, and tells the
    /// other servers (when they share a Redis). If Redis is away they learn it when they listen
    /// again, from the database; the kill itself stands either way.
    pub async fn deny_family(&self, family_id: i64) -> Result<(), AppError> {
        let now = self.clock.now();
        let denied = self.db.live_access_tokens_of_family(family_id, now).await?;
        for (jti, exp) in &denied {
            self.denylist.deny(jti.clone(), *exp, now);
        }
        if let Some(broadcast) = &self.broadcast
            && let Err(error) = broadcast.publish(&denied).await
        {
            tracing::warn!(%error, "other servers will learn of this kill when Redis is back");
        }
        Ok(())
    }

    /// After families are revoked: with the denylist setting, their access tokens stop now.
    pub(super) async fn after_revoking(
        &self,
        family_ids: impl IntoIterator<Item = i64>,
    ) -> Result<(), AppError> {
        if self.revocation == Revocation::Denylist {
            for family_id in family_ids {
                self.deny_family(family_id).await?;
            }
        }
        Ok(())
    }

    /// The checks `setting` adds to a valid signature: a refusal, or else the role the user
    /// has now when the check read it (`session-check` reads the family and its user in one
    /// query); `None` leaves the token's own `role` claim, a copy as old as the token.
    pub(super) async fn check_revocation(
        &self,
        claims: &AccessClaims,
        setting: Revocation,
    ) -> Result<Result<Option<String>, Refusal>, AppError> {
        let now = self.clock.now();
        Ok(match setting {
            Revocation::Pure => Ok(None),
            Revocation::SessionCheck => self
                .db
                .live_family_role(&claims.sid, now)
                .await?
                .map(Some)
                .ok_or(Refusal::DeviceSignedOut),
            Revocation::Denylist if self.denylist.denies(&claims.jti, now) => {
                Err(Refusal::TokenRevoked)
            }
            Revocation::Denylist => Ok(None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Denylist;

    #[test]
    fn a_denied_token_stays_denied_until_its_expiry_then_costs_nothing() {
        let denylist = Denylist::default();
        denylist.deny("a".into(), 100, 0);
        assert!(denylist.denies("a", 99));
        assert!(!denylist.denies("b", 99));
        assert!(!denylist.denies("a", 100));
        assert_eq!(denylist.footprint().0, 1);
        denylist.deny("b".into(), 300, 200);
        assert_eq!(denylist.footprint().0, 1, "the expired entry was dropped");
        assert!(denylist.footprint().1 > 0);
    }
}
