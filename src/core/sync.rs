//! A lock for in-memory tables that a panic cannot take down with it.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, even when a thread panicked while holding it. Every table the server keeps in
/// memory (sessions, the denylist, throttle counts, measurements) is consistent entry by entry,
/// so the entries a panicking writer left are still correct; refusing every later request
/// instead would turn one bug into an outage.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
