//! The server's idea of "now", in unix seconds.
//!
//! Expiry, idle timeouts and last-seen throttling all read this clock, so tests can stop time
//! and move it forward instead of sleeping.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time, or the time itself when frozen.
    offset: Arc<AtomicI64>,
    frozen: bool,
}

impl Clock {
    /// A clock that stands still at `unix` until [`Clock::advance`] moves it.
    pub fn frozen_at(unix: i64) -> Self {
        Clock {
            offset: Arc::new(AtomicI64::new(unix)),
            frozen: true,
        }
    }

    pub fn now(&self) -> i64 {
        let offset = self.offset.load(Ordering::Relaxed);
        if self.frozen {
            return offset;
        }
        system_now() + offset
    }

    /// Moves this clock (and every clone of it) `seconds` into the future.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

pub fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}
