//! The compare page's own load: a bounded burst of authenticated requests in each column, and a
//! kill drill that measures how soon a kill stops each kind of device.
//!
//! The burst's credentials are values, issued to the signed-in user for a "load generator"
//! device that is removed afterwards, and they go through exactly the measurement the middleware
//! makes for every live request ([`measure_recognition`]). The JWT credentials are measured once
//! per revocation setting, so one server shows what each setting costs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::Semaphore;

use super::{
    floors,
    metrics::{Metrics, measure_recognition},
    stores,
};
use crate::{
    auth::{Auth, Credentials, LiveUser, session::store::SessionBackend},
    core::{client::ClientInfo, clock::Clock, sync::lock},
    db::{Db, UserRecord},
    error::AppError,
    model::{
        Column, Comparison, CostColumn, KillEffect, MAX_BURST, MemoryUse, Mode, Revocation,
        RevocationReason, SessionStoreKind,
    },
};

/// The device name the load generator's credentials carry.
pub const LOAD_DEVICE: &str = "ticketbooth load generator";

/// What two browsers of the user would present: a session and a JWT.
struct LoadDevices {
    session: Credentials,
    session_device: String,
    jwt: Credentials,
    jwt_device: String,
}

async fn issue(
    auth: &Auth,
    user: &UserRecord,
    client: &ClientInfo,
) -> Result<LoadDevices, AppError> {
    let (session_id, session_device) = auth.open_session(user, client).await?;
    let pair = auth.start_jwt(user, client).await?;
    Ok(LoadDevices {
        session: auth.presenting_session(session_id),
        session_device,
        jwt: auth.presenting_access_token(pair.access_token),
        jwt_device: pair.device_id,
    })
}

/// Seconds a user waits after a burst before the next.
pub const BURST_COOLDOWN: i64 = 10;

/// Runs the compare page's bursts: one at a time on this server, each user waiting
/// [`BURST_COOLDOWN`] after their last, and every burst run to its end, clean-up included, even
/// when the client that asked for it goes away.
pub struct LoadGenerator {
    one_at_a_time: Arc<Semaphore>,
    /// When each user's last burst ended.
    last_burst: Arc<Mutex<HashMap<i64, i64>>>,
    /// Every session store the server can reach, measured side by side in each burst.
    reachable: Arc<Vec<Arc<dyn SessionBackend>>>,
    clock: Clock,
}

impl std::fmt::Debug for LoadGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadGenerator").finish_non_exhaustive()
    }
}

impl LoadGenerator {
    /// A generator that also measures each of `reachable` in every burst.
    pub fn new(reachable: Vec<Arc<dyn SessionBackend>>, clock: Clock) -> Self {
        LoadGenerator {
            one_at_a_time: Arc::new(Semaphore::new(1)),
            last_burst: Arc::default(),
            reachable: Arc::new(reachable),
            clock,
        }
    }

    /// Sends `requests` authenticated requests in each column, then the kill drill.
    pub async fn run(
        &self,
        auth: &Auth,
        db: &Db,
        metrics: &Arc<Metrics>,
        current: &LiveUser,
        requests: u32,
    ) -> Result<(), AppError> {
        if !(1..=MAX_BURST).contains(&requests) {
            return Err(AppError::invalid(
                "requests",
                format!("Choose between 1 and {MAX_BURST} requests."),
            ));
        }
        let now = auth.now();
        if let Some(ended) = lock(&self.last_burst).get(&current.user_id)
            && now < ended + BURST_COOLDOWN
        {
            return Err(AppError::TooManyRequests {
                retry_after: ended + BURST_COOLDOWN - now,
            });
        }
        let user = auth.user(current).await?;
        // Taken and handed to the burst's task with no await between: while the turn is taken,
        // a burst runs.
        let Ok(turn) = self.one_at_a_time.clone().try_acquire_owned() else {
            return Err(AppError::Busy);
        };
        let (auth, db, metrics, last_burst, reachable, clock) = (
            auth.clone(),
            db.clone(),
            metrics.clone(),
            self.last_burst.clone(),
            self.reachable.clone(),
            self.clock.clone(),
        );
        // A task of its own: if the client disconnects, the request's future is dropped, but the
        // burst goes on to its end and removes its devices.
        let burst = tokio::spawn(async move {
            let result = burst(&auth, &db, &metrics, &user, requests).await;
            if result.is_ok() {
                metrics
                    .set_store_reads(stores::measure(&reachable, &user, LOAD_DEVICE, &clock).await);
            }
            lock(&last_burst).insert(user.id, auth.now());
            drop(turn);
            result
        });
        burst.await?
    }

    /// Whether a burst runs now.
    pub fn is_running(&self) -> bool {
        self.one_at_a_time.available_permits() == 0
    }

    /// Waits until no burst runs.
    pub async fn idle(&self) {
        let _turn = self.one_at_a_time.acquire().await;
    }
}

async fn burst(
    auth: &Auth,
    db: &Db,
    metrics: &Metrics,
    user: &UserRecord,
    requests: u32,
) -> Result<(), AppError> {
    let client = ClientInfo::in_process(LOAD_DEVICE);
    let devices = issue(auth, user, &client).await?;
    let result = async {
        // Round-robin, so that warm-up and whatever else the machine does weigh on every
        // column alike.
        for _ in 0..requests {
            let setting = auth.revocation();
            measure_recognition(auth, metrics, &devices.session, &client, setting).await?;
            for setting in Revocation::ALL {
                measure_recognition(auth, metrics, &devices.jwt, &client, setting).await?;
            }
        }
        metrics.set_floors(floors::measure(auth, db, user, &devices.jwt, &devices.session).await?);
        // Only a figure: a store that cannot count itself (a Redis without MEMORY, say) does
        // not spoil the burst.
        match auth.session_footprint().await {
            Ok(footprint) => metrics.set_session_footprint(footprint),
            Err(error) => tracing::warn!(%error, "the session store could not count its bytes"),
        }
        kill_drill(auth, metrics, user, &client).await
    }
    .await;
    remove(auth, user, &devices).await?;
    result
}

/// Kills two fresh devices, then asks: is the next request still let in? Fresh ones, not the
/// burst's: the burst's access token may have expired meanwhile (a short `ACCESS_TOKEN_TTL`, a
/// busy machine), and an expired token refused would read as a kill that took effect at once.
async fn kill_drill(
    auth: &Auth,
    metrics: &Metrics,
    user: &UserRecord,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let devices = issue(auth, user, client).await?;
    let result = drill(auth, metrics, user, client, &devices).await;
    remove(auth, user, &devices).await?;
    result
}

async fn drill(
    auth: &Auth,
    metrics: &Metrics,
    user: &UserRecord,
    client: &ClientInfo,
    devices: &LoadDevices,
) -> Result<(), AppError> {
    let now = auth.now();
    auth.end_session(user.id, &devices.session_device).await?;
    // Denied whatever this server's own setting, so that the denylist column can be measured.
    let access_expires_at = auth
        .revoke_and_deny(user.id, &devices.jwt_device, RevocationReason::KillDrill)
        .await?
        .ok_or(AppError::Internal)?;
    let effect = |still_let_in: bool| {
        if still_let_in {
            KillEffect::AtExpiry {
                seconds_after_kill: (access_expires_at + crate::auth::jwt::claims::LEEWAY - now)
                    .max(1),
            }
        } else {
            KillEffect::AtOnce
        }
    };
    let session_after = auth.recognise(&devices.session, client).await?.recognition;
    metrics.set_kill_effect(Column::Session, effect(session_after.user.is_some()));
    for setting in Revocation::ALL {
        let after = auth
            .recognise_with(&devices.jwt, client, setting)
            .await?
            .recognition;
        metrics.set_kill_effect(Column::of(Mode::Jwt, setting), effect(after.user.is_some()));
    }
    Ok(())
}

/// The load devices leave no trace on the devices page.
async fn remove(auth: &Auth, user: &UserRecord, devices: &LoadDevices) -> Result<(), AppError> {
    auth.end_session(user.id, &devices.session_device).await?;
    auth.delete_jwt_family(&devices.jwt_device).await?;
    Ok(())
}

/// The compare page: live figures per column, and what each costs in memory.
pub fn comparison(auth: &Auth, metrics: &Metrics) -> Comparison {
    let (denied, denylist_bytes) = auth.denylist_footprint();
    let store = auth.session_settings().store;
    let jwt = auth.jwt_settings();
    let columns = Column::ALL
        .into_iter()
        .map(|column| {
            let summary = metrics.summary(column);
            let memory = match column {
                Column::Session => match store {
                    SessionStoreKind::Sqlite | SessionStoreKind::Postgres => MemoryUse::SessionRows,
                    SessionStoreKind::Memory => MemoryUse::EverySession,
                    SessionStoreKind::Redis => MemoryUse::SharedStore,
                },
                Column::JwtDenylist => MemoryUse::Denylist {
                    entries: denied,
                    bytes: denylist_bytes,
                },
                Column::JwtPure | Column::JwtSessionCheck => MemoryUse::Nothing,
            };
            CostColumn {
                column,
                requests: summary.requests,
                median_micros: summary.median_micros,
                p99_micros: summary.p99_micros,
                queries_per_request: summary.queries_per_request,
                bytes_per_request: summary.bytes_per_request,
                kill_takes_effect: metrics.kill_effect(column),
                memory,
            }
        })
        .collect();
    Comparison {
        columns,
        floors: metrics.floors(),
        session_footprint: metrics.session_footprint(),
        store_reads: metrics.store_reads(),
        revocation: jwt.revocation,
        session_store: store,
        access_ttl: jwt.access_ttl,
    }
}
