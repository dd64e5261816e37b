//! Locks for in-memory tables that a panic cannot take down with them.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, even when a thread panicked while holding it. Every table the server keeps in
/// memory (sessions, the denylist, throttle counts, measurements) is consistent entry by entry,
/// so the entries a panicking writer left are still correct; refusing every later request
/// instead would turn one bug into an outage.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes `lock` to read, even when a thread panicked while holding it, as [`lock`].
pub fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes `lock` to write, even when a thread panicked while holding it, as [`lock`].
pub fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
