//! The server functions the pages call. Each is thin: it finds the state and the request, asks
//! [`crate::auth`] to do the work, and says where the browser goes next.
//!
//! All live under `/fn/<name>` with stable names, take form-encoded arguments (so every form
//! works without JavaScript) and fail with [`AppError`]. Reads are GET; anything that changes
//! state is POST and passes the origin check.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::{
    error::AppError,
    model::{DeviceView, RecognitionReport, Viewer},
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
        maybe_user(parts).ok_or(AppError::Unauthenticated)
    }
}

/// Creates an account, signs this browser in and goes to the dashboard.
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn sign_up(username: String, password: String) -> Result<(), AppError> {
    use crate::{model::Mode, nav::HOME_AFTER_SIGN_IN};
    let (state, parts) = (ssr::state()?, ssr::request()?);
    state
        .auth
        .sign_up(&parts, &username, password, Mode::Session)
        .await?;
    leptos_axum::redirect(HOME_AFTER_SIGN_IN);
    Ok(())
}

/// Signs in and goes to `next` when it is a path on this site, else to the dashboard.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn log_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::{model::Mode, nav::safe_next};
    let (state, parts) = (ssr::state()?, ssr::request()?);
    state
        .auth
        .log_in(&parts, &username, password, Mode::Session)
        .await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends this browser's sign-in and goes to the login page.
#[server(prefix = "/fn", endpoint = "logout")]
pub async fn log_out() -> Result<(), AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    if let Some(current) = ssr::maybe_user(&parts) {
        state.auth.sign_out(&parts, &current).await?;
    }
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in on this browser, if anyone.
#[server(prefix = "/fn", endpoint = "viewer", input = GetUrl)]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    Ok(ssr::maybe_user(&ssr::request()?).map(|user| user.viewer()))
}

/// How the server recognised this very request.
#[server(prefix = "/fn", endpoint = "dashboard", input = GetUrl)]
pub async fn dashboard() -> Result<RecognitionReport, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.explain(&parts, &current).await
}

/// The signed-in user's devices, most recently active first.
#[server(prefix = "/fn", endpoint = "devices", input = GetUrl)]
pub async fn devices() -> Result<Vec<DeviceView>, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.devices(&current).await
}

/// Signs one of the user's devices out. For this browser's own device that is a sign-out,
/// and the browser goes to the login page.
#[server(prefix = "/fn", endpoint = "kill_device")]
pub async fn kill_device(id: String) -> Result<(), AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    if id == current.device_id {
        state.auth.sign_out(&parts, &current).await?;
        leptos_axum::redirect("/login");
        return Ok(());
    }
    state.auth.kill(&current, &id).await
}

/// Signs out every device of the user but this one; returns how many were signed out.
#[server(prefix = "/fn", endpoint = "kill_other_devices")]
pub async fn kill_other_devices() -> Result<u64, AppError> {
    let (state, parts) = (ssr::state()?, ssr::request()?);
    let current = ssr::user(&parts)?;
    state.auth.kill_others(&current).await
}
