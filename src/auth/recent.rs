//! Recent events per key, bounded: the memory behind the sign-in and sign-up limits.
//!
//! Every operation is O(log n) in the number of keys: besides the map of each key's event
//! times, an index orders the keys by their latest event, so forgetting the stalest key (when
//! the table is full) or every key whose events have all left the window (the sweeper) never
//! scans the table. Events of a key are recorded in time order (the server's clock does not
//! run backwards), which is what lets old events be dropped from the front.

use std::collections::{BTreeSet, HashMap, VecDeque};

#[derive(Debug)]
pub struct RecentTable<K: Ord + Clone + std::hash::Hash> {
    /// Each key's event times, oldest first.
    times: HashMap<K, VecDeque<i64>>,
    /// (latest event, key) for every key.
    by_latest: BTreeSet<(i64, K)>,
    max_keys: usize,
}

impl<K: Ord + Clone + std::hash::Hash> RecentTable<K> {
    pub fn new(max_keys: usize) -> Self {
        RecentTable {
            times: HashMap::new(),
            by_latest: BTreeSet::new(),
            max_keys: max_keys.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.times.contains_key(key)
    }

    /// The event times of `key` after `since`, oldest first; older ones are dropped.
    pub fn recent(&mut self, key: &K, since: i64) -> &[i64] {
        match self.times.get_mut(key) {
            Some(times) => {
                while times.front().is_some_and(|at| *at <= since) {
                    times.pop_front();
                }
                times.make_contiguous()
            }
            None => &[],
        }
    }

    /// Records an event of `key` at `at`. When the table is full, the key whose latest event
    /// is oldest goes first: the one least likely to be held back.
    pub fn record(&mut self, key: K, at: i64) {
        if !self.times.contains_key(&key)
            && self.times.len() >= self.max_keys
            && let Some((_, stalest)) = self.by_latest.pop_first()
        {
            self.times.remove(&stalest);
        }
        let times = self.times.entry(key.clone()).or_default();
        if let Some(&latest) = times.back() {
            self.by_latest.remove(&(latest, key.clone()));
        }
        // In time order, so the newest event is the last.
        times.push_back(at);
        self.by_latest.insert((at, key));
    }

    /// Takes back one event of `key` at `at`.
    pub fn remove_one(&mut self, key: &K, at: i64) {
        let Some(times) = self.times.get_mut(key) else {
            return;
        };
        let Some(&latest) = times.back() else {
            return;
        };
        if let Some(index) = times.iter().rposition(|time| *time == at) {
            times.remove(index);
        }
        self.by_latest.remove(&(latest, key.clone()));
        match times.back() {
            Some(&now_latest) => {
                self.by_latest.insert((now_latest, key.clone()));
            }
            None => {
                self.times.remove(key);
            }
        }
    }

    /// Forgets every event of `key`.
    pub fn forget(&mut self, key: &K) {
        if let Some(times) = self.times.remove(key)
            && let Some(&latest) = times.back()
        {
            self.by_latest.remove(&(latest, key.clone()));
        }
    }

    /// Forgets every key whose events are all at or before `since`.
    pub fn forget_before(&mut self, since: i64) {
        while let Some((latest, _)) = self.by_latest.first()
            && *latest <= since
        {
            if let Some((_, key)) = self.by_latest.pop_first() {
                self.times.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RecentTable;

    #[test]
    fn a_full_table_forgets_the_key_seen_longest_ago() {
        let mut table = RecentTable::new(3);
        for (key, at) in [("a", 1), ("b", 2), ("c", 3), ("a", 4)] {
            table.record(key, at);
        }
        table.record("d", 5);
        assert_eq!(table.len(), 3);
        assert!(!table.contains(&"b"), "b was seen longest ago");
        assert!(table.contains(&"a") && table.contains(&"c") && table.contains(&"d"));
    }

    #[test]
    fn events_leave_the_window_and_keys_with_them() {
        let mut table = RecentTable::new(10);
        table.record("a", 1);
        table.record("a", 5);
        table.record("b", 2);
        assert_eq!(table.recent(&"a", 1), &[5]);
        table.forget_before(2);
        assert!(table.contains(&"a") && !table.contains(&"b"));
        table.remove_one(&"a", 5);
        assert!(table.is_empty());
        table.record("c", 7);
        table.forget(&"c");
        assert!(table.is_empty());
        table.forget_before(100);
    }
}
