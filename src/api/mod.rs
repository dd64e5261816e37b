//! The server functions the pages call. Each is thin: it finds the state and the request, asks
//! [`crate::auth`] to do the work, and says where the browser goes next.
//!
//! All live under `/fn/<name>` with stable names, take form-encoded arguments (so every form
//! works without JavaScript) and fail with [`AppError`]. Reads are GET; anything that changes
//! state is POST and passes the origin check. In the browser they are called through
//! [`RefreshingClient`], which renews an expired access token once and retries.
//!
//! [`http`] holds the plain HTTP endpoints: the browser's refresh and the JSON API.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

pub mod client;
#[cfg(feature = "ssr")]
pub mod http;

use client::RefreshingClient;

use crate::{
    error::AppError,
    model::{
        Comparison, DeviceView, Killed, Mode, RecognitionReport, SessionProbe, SignatureEdit,
        TokenParts, TokenPreset, Verdict, Viewer,
    },
};

#[cfg(feature = "ssr")]
mod ssr {
    use http::request::Parts;
    use leptos::prelude::use_context;

    use crate::{
        auth::{CurrentUser, Recognition},
        error::AppError,
        server::state::AppState,
    };

    /// The request being answered, as leptos_axum left it in the context.
    pub fn request() -> Result<Parts, AppError> {
        use_context::<Parts>().ok_or_else(|| {
            tracing::error!("request parts are not in the Leptos context");
            AppError::Internal
        })
    }

    pub fn state() -> Result<AppState, AppError> {
        AppState::from_context()
    }

    pub fn maybe_user(parts: &Parts) -> Option<CurrentUser> {
        Recognition::user_of(parts)
    }

    pub fn user(parts: &Parts) -> Result<CurrentUser, AppError> {
        Recognition::require(parts)
    }

    /// A form posted without JavaScript cannot receive a server function's value: its verdict
    /// travels in the URL of the page it goes back to.
    pub fn show_verdict_without_javascript(parts: &Parts, verdict: &crate::model::Verdict) {
        let accepts_html = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        if accepts_html {
            let query = serde_urlencoded::to_string([
                ("accepted", verdict.accepted.to_string()),
                ("code", verdict.code.clone()),
                ("reason", verdict.reason.clone()),
            ])
            .unwrap_or_default();
            leptos_axum::redirect(&format!("/playground?{query}#verdict"));
        }
    }
}

/// Creates an account, signs this browser in with `mode` and goes to the dashboard.
#[server(prefix = "/fn", endpoint = "signup", client = RefreshingClient)]
pub async fn sign_up(
    username: String,
    password: String,
    mode: Option<Mode>,
) -> Result<(), AppError> {
    use crate::nav::HOME_AFTER_SIGN_IN;
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let mode = mode.unwrap_or_else(|| state.auth.remembered_mode(&parts));
    state
        .auth
        .sign_up(&parts, &username, password, mode)
        .await?;
    leptos_axum::redirect(HOME_AFTER_SIGN_IN);
    Ok(())
}

/// Signs in with `mode` and goes to `next` when it is a path on this site, else to the
/// dashboard.
#[server(prefix = "/fn", endpoint = "login", client = RefreshingClient)]
pub async fn log_in(
    username: String,
    password: String,
    next: Option<String>,
    mode: Option<Mode>,
) -> Result<(), AppError> {
    use crate::nav::safe_next;
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let mode = mode.unwrap_or_else(|| state.auth.remembered_mode(&parts));
    state.auth.log_in(&parts, &username, password, mode).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// The mode this browser chose last: the login form's default.
#[server(prefix = "/fn", endpoint = "preferred_mode", input = GetUrl, client = RefreshingClient)]
pub async fn preferred_mode() -> Result<Mode, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    Ok(state.auth.remembered_mode(&parts))
}

/// Ends this browser's sign-in and goes to the login page.
#[server(prefix = "/fn", endpoint = "logout", client = RefreshingClient)]
pub async fn log_out() -> Result<(), AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    if let Some(current) = ssr::maybe_user(&parts) {
        state.auth.sign_out(&parts, &current).await?;
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in on this browser, if anyone. An expired access token is an error rather
/// than "nobody", so that the browser refreshes it and asks again.
#[server(prefix = "/fn", endpoint = "viewer", input = GetUrl, client = RefreshingClient)]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    use crate::auth::Recognition;
    let recognition = Recognition::of(&ssr::request()?);
    if recognition.is_refreshable() {
        return Err(AppError::Unauthenticated);
    }
    Ok(recognition.user.map(|user| user.viewer()))
}

/// Switches this browser to the other mode without asking for the password again: new
/// credentials of the other kind, and the old ones ended.
#[server(prefix = "/fn", endpoint = "switch_mode", client = RefreshingClient)]
pub async fn switch_mode(to: Mode) -> Result<Viewer, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.switch_mode(&parts, &current, to).await?;
    Ok(Viewer {
        username: current.username,
        mode: to,
    })
}

/// How the server recognised this very request.
#[server(prefix = "/fn", endpoint = "dashboard", input = GetUrl, client = RefreshingClient)]
pub async fn dashboard() -> Result<RecognitionReport, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    let mut report = state.auth.explain(&parts, &current).await?;
    report.cost = parts
        .extensions
        .get::<crate::model::RecognitionCost>()
        .copied();
    Ok(report)
}

/// The signed-in user's devices in both modes, most recently active first.
#[server(prefix = "/fn", endpoint = "devices", input = GetUrl, client = RefreshingClient)]
pub async fn devices() -> Result<Vec<DeviceView>, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.devices(&current).await
}

/// Signs one of the user's devices out. For this browser's own device that is a sign-out,
/// and the browser goes to the login page.
#[server(prefix = "/fn", endpoint = "kill_device", client = RefreshingClient)]
pub async fn kill_device(id: String) -> Result<Killed, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    if id == current.device_id {
        state.auth.sign_out(&parts, &current).await?;
        leptos_axum::redirect("/login");
        return Ok(Killed {
            mode: current.mode,
            access_valid_until: None,
        });
    }
    state.auth.kill(&current, &id).await
}

/// Signs out every device of the user but this one; returns how many were signed out.
#[server(prefix = "/fn", endpoint = "kill_other_devices", client = RefreshingClient)]
pub async fn kill_other_devices() -> Result<u64, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.kill_others(&current).await
}

/// Signs out every device of the user, this one included, and goes to the login page.
#[server(prefix = "/fn", endpoint = "kill_all_devices", client = RefreshingClient)]
pub async fn kill_all_devices() -> Result<u64, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    let ended = state.auth.kill_all(&parts, &current).await?;
    leptos_axum::redirect("/login");
    Ok(ended)
}

/// Live figures of what recognising a request costs, per mode and revocation setting.
#[server(prefix = "/fn", endpoint = "compare", input = GetUrl, client = RefreshingClient)]
pub async fn compare() -> Result<Comparison, AppError> {
    Ok(crate::server::load::comparison(&ssr::state()?))
}

/// Sends `requests` authenticated requests in each mode (and each revocation setting), then a
/// kill drill; returns the figures that come out.
#[server(prefix = "/fn", endpoint = "generate_load", client = RefreshingClient)]
pub async fn generate_load(requests: u32) -> Result<Comparison, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    crate::server::load::run_burst(&state, &current, requests).await?;
    Ok(crate::server::load::comparison(&state))
}

/// The caller's own access token, decoded, for the playground to edit.
#[server(prefix = "/fn", endpoint = "token_parts", input = GetUrl, client = RefreshingClient)]
pub async fn own_token_parts() -> Result<TokenParts, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.token_parts(&parts, &current)
}

/// The caller's token with an edited header, payload and signature: what does the server say?
#[server(prefix = "/fn", endpoint = "try_token", client = RefreshingClient)]
pub async fn try_token(
    header: String,
    payload: String,
    signature: SignatureEdit,
) -> Result<Verdict, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    let verdict = state
        .auth
        .try_token(&parts, &current, &header, &payload, signature)
        .await?;
    ssr::show_verdict_without_javascript(&parts, &verdict);
    Ok(verdict)
}

/// One of the ready-made forgeries of the caller's token.
#[server(prefix = "/fn", endpoint = "try_preset", client = RefreshingClient)]
pub async fn try_preset(preset: TokenPreset) -> Result<Verdict, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    let verdict = state.auth.try_preset(&parts, &current, preset).await?;
    ssr::show_verdict_without_javascript(&parts, &verdict);
    Ok(verdict)
}

/// A session ID that should not work: random, signed out, or malformed.
#[server(prefix = "/fn", endpoint = "try_session", client = RefreshingClient)]
pub async fn try_session(probe: SessionProbe) -> Result<Verdict, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    let verdict = state.auth.try_session(&current, probe).await?;
    ssr::show_verdict_without_javascript(&parts, &verdict);
    Ok(verdict)
}
