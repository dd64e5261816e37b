//! Every session store this server can reach, on the same work: reading one session, as each
//! request's recognition does. The articles' desk (memory), drawer (SQLite), warehouse
//! (PostgreSQL) and shared desk (Redis) side by side, whichever one keeps this server's own
//! sessions: its own database's table is always reachable, a fresh memory store always, and
//! Redis when `REDIS_URL` names one.

use std::{sync::Arc, time::Instant};

use tower_sessions::session::Id;

use super::metrics::percentile;
use crate::{
    auth::session::{state::SessionState, store::SessionBackend},
    core::{clock::Clock, ids::new_public_id},
    db::UserRecord,
    model::{SessionStoreKind, StoreRead},
};

/// Reads per store: a stable p99 of one read, a fifth of a second on the slowest store.
const READS: usize = 1000;

/// Measures each of `stores` with a session of `user` kept there only while it is read; a
/// store that fails (Redis down) is left out, and said so in the log.
pub async fn measure(
    stores: &[Arc<dyn SessionBackend>],
    user: &UserRecord,
    device: &str,
    clock: &Clock,
) -> Vec<StoreRead> {
    let mut measured = Vec::new();
    for store in stores {
        match read_times(store.as_ref(), user, device, clock).await {
            Ok(read) => measured.push(read),
            Err(error) => {
                tracing::warn!(%error, store = ?store.kind(), "a store could not be measured");
            }
        }
    }
    measured
}

async fn read_times(
    store: &dyn SessionBackend,
    user: &UserRecord,
    device: &str,
    clock: &Clock,
) -> Result<StoreRead, tower_sessions::session_store::Error> {
    let now = clock.now();
    let state = SessionState {
        user_id: user.id,
        username: user.username.clone(),
        role: user.role.clone(),
        device_id: new_public_id(),
        device: device.to_owned(),
        ip: "127.0.0.1".into(),
        signed_in_at: now,
        last_seen_at: now,
        remembered: false,
    };
    let mut record = state.into_record(Id::default(), now + 60)?;
    store.create(&mut record).await?;
    let timed = async {
        let mut micros = Vec::with_capacity(READS);
        for _ in 0..READS {
            let started = Instant::now();
            let found = store.load(&record.id).await?;
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            if found.is_none() {
                return Err(tower_sessions::session_store::Error::Backend(
                    "the measured session is gone".into(),
                ));
            }
        }
        Ok(micros)
    }
    .await;
    // Whatever happened, the session goes: it is on its user's devices page while it lives.
    let deleted = store.delete(&record.id).await;
    let mut micros = timed?;
    deleted?;
    micros.sort_by(f64::total_cmp);
    // Its floor: a bare round trip on the same connections (PING, SELECT 1), the least any
    // read there costs. The desk and the drawer are in this process: no trip to make (a
    // session read from SQLite is read on the asking thread, never through the pool).
    let floor_micros = match store.kind() {
        SessionStoreKind::Memory | SessionStoreKind::Sqlite => None,
        SessionStoreKind::Postgres | SessionStoreKind::Redis => {
            let mut trips = Vec::with_capacity(READS);
            for _ in 0..READS {
                let started = Instant::now();
                store.ping().await?;
                trips.push(started.elapsed().as_secs_f64() * 1e6);
            }
            trips.sort_by(f64::total_cmp);
            Some(percentile(&trips, 0.5))
        }
    };
    Ok(StoreRead {
        store: store.kind(),
        median_micros: percentile(&micros, 0.5),
        p99_micros: percentile(&micros, 0.99),
        floor_micros,
    })
}
