//! The compare page's own load: a bounded burst of authenticated requests in each mode, and a
//! kill drill that measures how soon a kill stops each kind of device.
//!
//! The requests are made in-process and go through exactly the measurement the middleware makes
//! for every live request ([`measure_recognition`]), with credentials of both kinds issued to the
//! signed-in user for a "load generator" device that is removed afterwards. The JWT requests are
//! run once per revocation setting, so one server shows what each setting costs.

use http::request::Parts;
use tokio::sync::Semaphore;

use super::{
    client::ClientInfo,
    metrics::{COLUMNS, column_key, measure_recognition},
    state::AppState,
};
use crate::{
    auth::{
        CurrentUser, in_process_request,
        jwt::{LEEWAY, RevocationOverride},
    },
    db::UserRecord,
    error::AppError,
    model::{Comparison, CostColumn, Mode, Revocation, SessionStoreKind, describe_seconds},
};

/// The most requests a burst sends in each column.
pub const MAX_BURST: u32 = 1000;
/// The device name the load generator's credentials carry.
pub const LOAD_DEVICE: &str = "ticketbooth load generator";

/// One burst at a time, server-wide: a burst is bounded, and so is their number.
static ONE_BURST: Semaphore = Semaphore::const_new(1);

struct LoadCredentials {
    session_id: String,
    session_device: String,
    access_cookie: String,
    jwt_device: String,
}

/// A session and a JWT family for `user`, as two browsers would hold them.
async fn issue(state: &AppState, user: &UserRecord) -> Result<LoadCredentials, AppError> {
    let (session_id, session_device) = state
        .auth
        .sessions()
        .open_detached(user, LOAD_DEVICE)
        .await?;
    let client = ClientInfo::from_parts(&in_process_request("", LOAD_DEVICE, |_| {}));
    let pair = state.auth.jwt().start(user, &client).await?;
    Ok(LoadCredentials {
        session_id: session_id.to_string(),
        session_device,
        access_cookie: format!(
            "{}={}",
            state.config.cookie_names().access,
            pair.access_token
        ),
        jwt_device: pair.device_id,
    })
}

impl LoadCredentials {
    fn session_request(&self, state: &AppState) -> Parts {
        state
            .auth
            .sessions()
            .detached_request(&self.session_id, LOAD_DEVICE)
    }

    fn jwt_request(&self, setting: Revocation) -> Parts {
        in_process_request(&self.access_cookie, LOAD_DEVICE, |extensions| {
            extensions.insert(RevocationOverride(setting));
        })
    }
}

/// Sends `requests` authenticated requests in each column, then the kill drill.
pub async fn run_burst(
    state: &AppState,
    current: &CurrentUser,
    requests: u32,
) -> Result<(), AppError> {
    if !(1..=MAX_BURST).contains(&requests) {
        return Err(AppError::invalid(
            "requests",
            format!("Choose between 1 and {MAX_BURST} requests."),
        ));
    }
    let Ok(_turn) = ONE_BURST.try_acquire() else {
        return Err(AppError::Busy);
    };
    let user = state
        .db
        .user_by_id(current.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let credentials = issue(state, &user).await?;
    let result = async {
        // Round-robin, so that warm-up and whatever else the machine does weigh on every
        // column alike.
        for _ in 0..requests {
            measure_recognition(state, &credentials.session_request(state)).await?;
            for setting in Revocation::ALL {
                measure_recognition(state, &credentials.jwt_request(setting)).await?;
            }
        }
        kill_drill(state, &user, &credentials).await
    }
    .await;
    remove(state, &user, &credentials).await?;
    result
}

/// Kills both load devices, then asks: is the next request still let in?
async fn kill_drill(
    state: &AppState,
    user: &UserRecord,
    credentials: &LoadCredentials,
) -> Result<(), AppError> {
    let now = state.clock.now();
    state
        .auth
        .sessions()
        .end(user.id, &credentials.session_device)
        .await?;
    let family = state
        .db
        .revoke_family_of_user(user.id, &credentials.jwt_device, "kill drill", now)
        .await?
        .ok_or(AppError::Internal)?;
    // Denied whatever this server's own setting, so that the denylist column can be measured.
    state.auth.jwt().deny_family(family.id).await?;

    let session_after = state
        .auth
        .recognise(&credentials.session_request(state))
        .await?;
    state.metrics.set_kill_effect(
        column_key(Mode::Session, Revocation::Pure),
        effect(session_after.user.is_some(), family.access_expires_at, now),
    );
    for setting in Revocation::ALL {
        let after = state
            .auth
            .recognise(&credentials.jwt_request(setting))
            .await?;
        state.metrics.set_kill_effect(
            column_key(Mode::Jwt, setting),
            effect(after.user.is_some(), family.access_expires_at, now),
        );
    }
    Ok(())
}

fn effect(still_let_in: bool, access_expires_at: i64, now: i64) -> String {
    if still_let_in {
        format!(
            "not until the token expires: {} after the kill (measured)",
            describe_seconds((access_expires_at + LEEWAY - now).max(1))
        )
    } else {
        "at once: the next request is refused (measured)".into()
    }
}

/// The load devices leave no trace on the devices page.
async fn remove(
    state: &AppState,
    user: &UserRecord,
    credentials: &LoadCredentials,
) -> Result<(), AppError> {
    state
        .auth
        .sessions()
        .end(user.id, &credentials.session_device)
        .await?;
    state.db.delete_family(&credentials.jwt_device).await?;
    Ok(())
}

/// The compare page: live figures per column, and what each costs in memory.
pub fn comparison(state: &AppState) -> Comparison {
    let jwt = state.auth.jwt();
    let (denied, denylist_bytes) = jwt.denylist().footprint();
    let columns = COLUMNS
        .iter()
        .map(|(key, label)| {
            let summary = state.metrics.summary(key);
            let memory = match *key {
                "session" => match state.config.session_store {
                    SessionStoreKind::Sqlite => "none: sessions are rows in SQLite".to_owned(),
                    SessionStoreKind::Memory => "every live session".to_owned(),
                },
                "jwt-denylist" => {
                    format!("{denied} revoked token ids, about {denylist_bytes} bytes")
                }
                _ => "none".to_owned(),
            };
            CostColumn {
                key: (*key).to_owned(),
                label: (*label).to_owned(),
                requests: summary.requests,
                median_micros: summary.median_micros,
                p99_micros: summary.p99_micros,
                queries_per_request: summary.queries_per_request,
                bytes_per_request: summary.bytes_per_request,
                kill_takes_effect: state
                    .metrics
                    .kill_effect(key)
                    .unwrap_or_else(|| "not measured yet: generate load".to_owned()),
                memory,
            }
        })
        .collect();
    Comparison {
        columns,
        revocation: jwt.revocation(),
        session_store: state.config.session_store,
        access_ttl: describe_seconds(jwt.access_ttl()),
        max_burst: MAX_BURST,
    }
}
