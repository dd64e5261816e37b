//! The "denylist" revocation setting: the `jti`s of revoked access tokens, in memory, each until
//! its token's `exp` (after that the signature check refuses the token anyway). A lookup costs no
//! database read; the price is memory, and that the list is this server's alone.

use std::{collections::HashMap, sync::Mutex};

#[derive(Debug, Default)]
pub struct Denylist {
    entries: Mutex<HashMap<String, i64>>,
}

impl Denylist {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refuses `jti` until `exp`; drops the entries whose tokens have expired meanwhile.
    pub fn deny(&self, jti: String, exp: i64, now: i64) {
        let mut entries = self.entries();
        entries.retain(|_, until| *until > now);
        entries.insert(jti, exp);
    }

    pub fn denies(&self, jti: &str, now: i64) -> bool {
        self.entries().get(jti).is_some_and(|until| *until > now)
    }

    /// Entries, and the bytes they take: the map's slots plus each `jti`'s heap bytes.
    pub fn footprint(&self) -> (usize, usize) {
        let entries = self.entries();
        let slot = std::mem::size_of::<(String, i64)>() + 1;
        let heap: usize = entries.keys().map(String::capacity).sum();
        (entries.len(), entries.capacity() * slot + heap)
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
