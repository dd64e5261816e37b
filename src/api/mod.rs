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
#[cfg(feature = "ssr")]
mod openapi;

use client::RefreshingClient;

use crate::{
    error::AppError,
    model::{
        AccountView, ActivityPage, AdminUserRow, AdminUserView, ClusterView, Comparison,
        DevicePolicy, DeviceView, KillReachToken, Killed, Mode, PasswordChanged, ProbeAnswer,
        RecognitionReport, RememberTerms, RoleChange, SessionProbe, SignatureEdit,
        TheftDrillReport, TokenParts, TokenPreset, Verdict, Viewer,
    },
};

#[cfg(feature = "ssr")]
pub mod state;

#[cfg(feature = "ssr")]
mod ssr {
    use http::request::Parts;
    use leptos::prelude::use_context;
    use tower_cookies::Cookies;

    pub use super::state::AppState;
    use crate::{
        auth::{CookieChanges, Credentials, CurrentUser, LiveUser, Recognition},
        core::client::ClientInfo,
        error::AppError,
        model::{RecognitionCost, Viewer},
    };

    /// What a server function needs of the request it answers: the shared state, and what the
    /// recognition middleware left in the request's extensions.
    pub struct Call {
        pub state: AppState,
        parts: Parts,
    }

    /// The state and the request being answered, as leptos_axum left them in the context.
    pub fn call() -> Result<Call, AppError> {
        let parts = use_context::<Parts>().ok_or_else(|| {
            tracing::error!("request parts are not in the Leptos context");
            AppError::Internal
        })?;
        Ok(Call {
            state: AppState::from_context()?,
            parts,
        })
    }

    fn missing(what: &'static str) -> AppError {
        tracing::error!(
            what,
            "the recognition middleware is missing from the router"
        );
        AppError::Internal
    }

    impl Call {
        /// What the request presented, as the middleware read it.
        pub fn presented(&self) -> Result<&Credentials, AppError> {
            self.parts
                .extensions
                .get::<Credentials>()
                .ok_or_else(|| missing("credentials"))
        }

        pub fn client(&self) -> Result<&ClientInfo, AppError> {
            self.parts
                .extensions
                .get::<ClientInfo>()
                .ok_or_else(|| missing("client"))
        }

        pub fn recognition(&self) -> Recognition {
            Recognition::of(&self.parts)
        }

        /// The recognition, or the 401 that makes the browser renew an expired access token
        /// and ask again (rather than be answered as nobody): for reads that work signed out.
        pub fn recognition_unless_refreshable(&self) -> Result<Recognition, AppError> {
            let recognition = self.recognition();
            if recognition.is_refreshable() {
                return Err(recognition
                    .into_user()
                    .err()
                    .unwrap_or(AppError::Unauthenticated));
            }
            Ok(recognition)
        }

        /// Who is signed in, or the 401 that makes the browser renew an expired access token.
        pub fn viewer(&self) -> Result<Option<Viewer>, AppError> {
            let recognition = self.recognition_unless_refreshable()?;
            Ok(recognition.user.map(|user| user.viewer()))
        }

        pub fn user(&self) -> Result<CurrentUser, AppError> {
            Recognition::require(&self.parts)
        }

        /// The user, with the server's record behind them confirmed live: what every server
        /// function that issues credentials or changes state asks for.
        pub async fn live_user(&self) -> Result<LiveUser, AppError> {
            self.state.auth.confirm_live(self.user()?).await
        }

        /// The door of the load balancer the request came through (a trusted proxy's
        /// `X-Ticketbooth-Door`), or nothing.
        pub fn door(&self) -> Option<String> {
            self.client().ok()?.door.clone()
        }

        pub fn cost(&self) -> Result<RecognitionCost, AppError> {
            self.parts
                .extensions
                .get::<RecognitionCost>()
                .copied()
                .ok_or_else(|| missing("cost"))
        }

        /// Puts `changes` on the response.
        pub fn set_cookies(&self, changes: CookieChanges) -> Result<(), AppError> {
            let jar = self
                .parts
                .extensions
                .get::<Cookies>()
                .ok_or_else(|| missing("cookie jar"))?;
            changes.apply(jar);
            Ok(())
        }

        /// A form posted without JavaScript cannot receive a server function's value: its
        /// verdict travels in the URL of the page it goes back to.
        pub fn show_verdict_without_javascript(&self, verdict: &crate::model::Verdict) {
            if crate::core::client::accepts_html(&self.parts.headers) {
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
}

/// Creates an account, signs this browser in with `mode` (remembered when the `remember` box
/// is ticked) and goes to the dashboard.
#[server(prefix = "/fn", endpoint = "signup", client = RefreshingClient)]
pub async fn sign_up(
    username: String,
    password: String,
    mode: Option<Mode>,
    remember: Option<String>,
) -> Result<(), AppError> {
    use crate::{auth::SignInChoice, nav::HOME_AFTER_SIGN_IN};
    let choice = SignInChoice::from_form(mode, remember.as_deref())?;
    let call = ssr::call()?;
    let (presented, client) = (call.presented()?, call.client()?);
    let cookies = call
        .state
        .auth
        .sign_up(presented, client, &username, password, choice)
        .await?;
    call.set_cookies(cookies)?;
    leptos_axum::redirect(HOME_AFTER_SIGN_IN);
    Ok(())
}

/// Signs in with `mode` (remembered when the `remember` box is ticked) and goes to `next`
/// when it is a path on this site, else to the dashboard.
#[server(prefix = "/fn", endpoint = "login", client = RefreshingClient)]
pub async fn log_in(
    username: String,
    password: String,
    next: Option<String>,
    mode: Option<Mode>,
    remember: Option<String>,
) -> Result<(), AppError> {
    use crate::{auth::SignInChoice, nav::safe_next};
    let choice = SignInChoice::from_form(mode, remember.as_deref())?;
    let call = ssr::call()?;
    let (presented, client) = (call.presented()?, call.client()?);
    let cookies = call
        .state
        .auth
        .log_in(presented, client, &username, password, choice)
        .await?;
    call.set_cookies(cookies)?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// The mode this browser chose last: the login form's default.
#[server(prefix = "/fn", endpoint = "preferred_mode", input = GetUrl, client = RefreshingClient)]
pub async fn preferred_mode() -> Result<Mode, AppError> {
    let call = ssr::call()?;
    Ok(call.state.auth.remembered_mode(call.presented()?))
}

/// How long a sign-in lasts with "Remember me" and without, in each mode: what the sign-in
/// forms say beside the box.
#[server(prefix = "/fn", endpoint = "remember_me_terms", input = GetUrl, client = RefreshingClient)]
pub async fn remember_me_terms() -> Result<RememberTerms, AppError> {
    let call = ssr::call()?;
    let auth = &call.state.auth;
    Ok(RememberTerms {
        session: auth.session_settings().lifetimes,
        jwt: auth.jwt_settings().lifetimes,
    })
}

/// Ends everything this browser presents, recognised or not, and goes to the login page.
///
/// It lives under the refresh path so that the browser sends the refresh cookie with it: a
/// sign-out revokes that token's family even when the access token has expired or was
/// tampered with.
#[server(prefix = "/auth/refresh", endpoint = "logout", client = RefreshingClient)]
pub async fn log_out() -> Result<(), AppError> {
    let call = ssr::call()?;
    let recognised = call.recognition().user;
    let cookies = call
        .state
        .auth
        .log_out(call.presented()?, call.client()?, recognised.as_ref())
        .await?;
    call.set_cookies(cookies)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The theft drill (JWT mode): this browser's spent refresh token replayed as a thief would.
/// It lives under the refresh path, so that the browser sends its refresh cookie with it, and
/// takes no input: nothing of it can be aimed at another user's tokens.
#[server(prefix = "/auth/refresh", endpoint = "theft_drill", client = RefreshingClient)]
pub async fn theft_drill() -> Result<TheftDrillReport, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    call.state
        .auth
        .theft_drill(call.presented()?, call.client()?, &current)
        .await
}

/// Who is signed in on this browser, if anyone. An expired access token is an error rather
/// than "nobody", so that the browser refreshes it and asks again.
#[server(prefix = "/fn", endpoint = "viewer", input = GetUrl, client = RefreshingClient)]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    ssr::call()?.viewer()
}

/// What the page header shows, read from the request being rendered: who is signed in (as
/// [`current_viewer`] would answer; nobody if that is an error) and which instance answered.
/// Nothing outside a request, as when Leptos renders the app once to list its routes.
#[cfg(feature = "ssr")]
pub fn header_facts_of_this_request() -> crate::model::HeaderFacts {
    // Borrowed from the context, not cloned: every page renders the header, and a clone of the
    // request's parts copies its headers and everything recognition left in its extensions.
    let viewer = with_context::<::http::request::Parts, _>(|parts| {
        parts
            .extensions
            .get::<crate::auth::Recognition>()
            .and_then(|recognition| recognition.user.as_ref())
            .map(crate::auth::CurrentUser::viewer)
    })
    .flatten();
    crate::model::HeaderFacts {
        viewer,
        instance: with_context::<ssr::AppState, _>(|state| state.config.instance_name.clone()),
    }
}

/// The name of the instance answering (`INSTANCE_NAME`): the page header shows it, so that
/// behind a load balancer each page says which server it came from.
#[server(prefix = "/fn", endpoint = "instance", input = GetUrl)]
pub async fn instance_name() -> Result<String, AppError> {
    Ok(ssr::call()?.state.config.instance_name.clone())
}

/// Switches this browser to the other mode without asking for the password again: new
/// credentials of the other kind, and the old ones ended.
#[server(prefix = "/fn", endpoint = "switch_mode", client = RefreshingClient)]
pub async fn switch_mode(to: Mode) -> Result<Viewer, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    let cookies = call
        .state
        .auth
        .switch_mode(call.presented()?, call.client()?, &current, to)
        .await?;
    call.set_cookies(cookies)?;
    Ok(Viewer {
        mode: to,
        ..current.viewer()
    })
}

/// How the server recognised this very request.
#[server(prefix = "/fn", endpoint = "dashboard", input = GetUrl, client = RefreshingClient)]
pub async fn dashboard() -> Result<RecognitionReport, AppError> {
    let call = ssr::call()?;
    let current = call.user()?;
    crate::inspect::explain::explain(&call.state.auth, call.presented()?, &current, call.cost()?)
        .await
}

/// The signed-in user's devices in both modes, most recently active first.
#[server(prefix = "/fn", endpoint = "devices", input = GetUrl, client = RefreshingClient)]
pub async fn devices() -> Result<Vec<DeviceView>, AppError> {
    let call = ssr::call()?;
    call.state.auth.devices(&call.user()?).await
}

/// Signs one of the user's devices out. For this browser's own device that is a sign-out,
/// and the browser goes to the login page.
#[server(prefix = "/fn", endpoint = "kill_device", client = RefreshingClient)]
pub async fn kill_device(id: String) -> Result<Killed, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    let (killed, cookies) = call
        .state
        .auth
        .kill(call.presented()?, call.client()?, &current, &id)
        .await?;
    if id == current.device_id {
        call.set_cookies(cookies)?;
        leptos_axum::redirect("/login");
    }
    Ok(killed)
}

/// Signs out every device of the user but this one; returns how many were signed out.
#[server(prefix = "/fn", endpoint = "kill_other_devices", client = RefreshingClient)]
pub async fn kill_other_devices() -> Result<u64, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    call.state.auth.kill_others(call.client()?, &current).await
}

/// Signs out every device of the user, this one included, and goes to the login page.
#[server(prefix = "/fn", endpoint = "kill_all_devices", client = RefreshingClient)]
pub async fn kill_all_devices() -> Result<u64, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    let (ended, cookies) = call
        .state
        .auth
        .kill_all(call.presented()?, call.client()?, &current)
        .await?;
    call.set_cookies(cookies)?;
    leptos_axum::redirect("/login");
    Ok(ended)
}

/// The account page: who, since when, and the last password change as the log has it.
#[server(prefix = "/fn", endpoint = "account", input = GetUrl, client = RefreshingClient)]
pub async fn account() -> Result<AccountView, AppError> {
    use crate::model::{ActivityKind, Moment};
    let call = ssr::call()?;
    let current = call.user()?;
    let user = call.state.auth.user(&current).await?;
    let last_password_change = call
        .state
        .auth
        .activity()
        .latest(user.id, ActivityKind::PasswordChanged)
        .await?;
    let device_policy = call.state.auth.device_policy(user.id).await?;
    let now = call.state.clock.now();
    let password_changed = call
        .state
        .auth
        .password_changed_at(user.id)
        .await?
        .map(|at| Moment::at(at, now));
    Ok(AccountView {
        username: user.username,
        mode: current.mode,
        created: Moment::at(user.created_at, now),
        password_changed,
        last_password_change,
        device_policy,
    })
}

/// Changes the password. Every other device ends in both modes; this browser gets fresh
/// credentials. Without JavaScript the account page shows the change from the activity log.
#[server(prefix = "/fn", endpoint = "change_password", client = RefreshingClient)]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<PasswordChanged, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    let (changed, cookies) = call
        .state
        .auth
        .change_password(
            call.presented()?,
            call.client()?,
            &current,
            current_password,
            new_password,
        )
        .await?;
    call.set_cookies(cookies)?;
    Ok(changed)
}

/// Sets how many devices the account may be signed in on at once: `policy` is `unlimited`,
/// `one` or `at_most`; the last takes `limit` (2 to 10) and `when_full` (`refuse` or
/// `end_least_recent`). Devices already signed in stay until the next sign-in.
#[server(prefix = "/fn", endpoint = "set_device_policy", client = RefreshingClient)]
pub async fn set_device_policy(
    policy: String,
    limit: Option<String>,
    when_full: Option<String>,
) -> Result<DevicePolicy, AppError> {
    let policy =
        crate::auth::policy::parse_device_policy(&policy, limit.as_deref(), when_full.as_deref())?;
    let call = ssr::call()?;
    let current = call.live_user().await?;
    call.state.auth.set_device_policy(&current, policy).await?;
    Ok(policy)
}

/// A page of the signed-in user's activity log, newest first, optionally about one device.
#[server(prefix = "/fn", endpoint = "activity", input = GetUrl, client = RefreshingClient)]
pub async fn activity(page: Option<u32>, device: Option<String>) -> Result<ActivityPage, AppError> {
    let call = ssr::call()?;
    let current = call.user()?;
    call.state
        .auth
        .activity()
        .page(current.user_id, device.as_deref(), page.unwrap_or(1))
        .await
}

/// Every account, for an administrator; 404 for anyone else.
#[server(prefix = "/fn", endpoint = "admin_users", input = GetUrl, client = RefreshingClient)]
pub async fn admin_users() -> Result<Vec<AdminUserRow>, AppError> {
    let call = ssr::call()?;
    call.state.auth.admin_users(&call.user()?).await
}

/// One account's devices and activity, for an administrator; 404 for anyone else.
#[server(prefix = "/fn", endpoint = "admin_user", input = GetUrl, client = RefreshingClient)]
pub async fn admin_user(id: i64, page: Option<u32>) -> Result<AdminUserView, AppError> {
    let call = ssr::call()?;
    call.state
        .auth
        .admin_user(&call.user()?, id, page.unwrap_or(1))
        .await
}

/// Signs one device of an account out (`device`), or all of them, for an administrator; the
/// account's activity log says who did it. 404 for anyone else.
#[server(prefix = "/fn", endpoint = "admin_end_devices", client = RefreshingClient)]
pub async fn admin_end_devices(user: i64, device: Option<String>) -> Result<u64, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    call.state
        .auth
        .admin_end_devices(&current, call.client()?, user, device.as_deref())
        .await
}

/// Makes an account an administrator (`role=admin`) or a user again (`role=user`), for an
/// administrator; says when each of the account's devices goes by the new role. 404 for
/// anyone else.
#[server(prefix = "/fn", endpoint = "admin_set_role", client = RefreshingClient)]
pub async fn admin_set_role(user: i64, role: String) -> Result<RoleChange, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    call.state
        .auth
        .admin_set_role(&current, call.client()?, user, &role)
        .await
}

/// The cluster page: the instance answering, the door the request came through, and every
/// instance behind the load balancer.
#[server(prefix = "/fn", endpoint = "cluster", input = GetUrl, client = RefreshingClient)]
pub async fn cluster() -> Result<ClusterView, AppError> {
    let call = ssr::call()?;
    // An expired access token: refresh first, so that an administrator sees their buttons.
    let current = call.recognition_unless_refreshable()?.user;
    crate::inspect::cluster::view(
        &call.state.config,
        &call.state.auth,
        current.as_ref(),
        call.door(),
    )
    .await
}

/// One request of the cluster page's drill: which instance answered, and whether it
/// recognised this browser. An expired access token is an error, as for [`current_viewer`], so
/// that the browser refreshes it and asks again.
#[server(prefix = "/fn", endpoint = "drill_probe", input = GetUrl, client = RefreshingClient)]
pub async fn drill_probe() -> Result<ProbeAnswer, AppError> {
    let call = ssr::call()?;
    let recognition = call.recognition_unless_refreshable()?;
    Ok(ProbeAnswer {
        instance: call.state.config.instance_name.clone(),
        recognised: recognition.user.is_some(),
        micros: call.cost()?.micros,
    })
}

/// The kill-reach drill's throwaway device: the signed-in user signs in once more by JWT, and
/// the page gets that device's access token.
#[server(prefix = "/fn", endpoint = "kill_reach_device", client = RefreshingClient)]
pub async fn kill_reach_device() -> Result<KillReachToken, AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    crate::inspect::cluster::kill_reach_device(&call.state.auth, &current, call.client()?).await
}

/// One probe of the kill-reach drill: which instance answered, and whether it lets the drill
/// device's access token in. The token travels in the body, not the URL (no log keeps it).
#[server(prefix = "/fn", endpoint = "kill_reach_probe", client = RefreshingClient)]
pub async fn kill_reach_probe(access_token: String) -> Result<ProbeAnswer, AppError> {
    let call = ssr::call()?;
    crate::inspect::cluster::kill_reach_probe(
        &call.state.auth,
        &call.state.config.instance_name,
        call.client()?,
        access_token,
    )
    .await
}

/// The kill-reach drill's kill: ends the device of the access token given.
#[server(prefix = "/fn", endpoint = "kill_reach_kill", client = RefreshingClient)]
pub async fn kill_reach_kill(access_token: String) -> Result<(), AppError> {
    let call = ssr::call()?;
    crate::inspect::cluster::kill_reach_kill(&call.state.auth, call.client()?, access_token).await
}

/// Takes `instance` out of every door of the load balancer (`taken_out`), or puts it back: an
/// administrator's drill. 404 for anyone else.
#[server(prefix = "/fn", endpoint = "set_instance_taken_out", client = RefreshingClient)]
pub async fn set_instance_taken_out(instance: String, taken_out: bool) -> Result<(), AppError> {
    let call = ssr::call()?;
    let current = call.live_user().await?;
    crate::inspect::cluster::set_taken_out(
        &call.state.config,
        &call.state.auth,
        &current,
        &instance,
        taken_out,
    )
    .await
}

/// Live figures of what recognising a request costs, per mode and revocation setting.
#[server(prefix = "/fn", endpoint = "compare", input = GetUrl, client = RefreshingClient)]
pub async fn compare() -> Result<Comparison, AppError> {
    let state = ssr::call()?.state;
    Ok(crate::inspect::load::comparison(
        &state.auth,
        &state.metrics,
    ))
}

/// Sends `requests` authenticated requests in each mode (and each revocation setting), then a
/// kill drill; returns the figures that come out.
#[server(prefix = "/fn", endpoint = "generate_load", client = RefreshingClient)]
pub async fn generate_load(requests: u32) -> Result<Comparison, AppError> {
    use crate::inspect::load::comparison;
    let call = ssr::call()?;
    let state = &call.state;
    let current = call.live_user().await?;
    state
        .load
        .run(&state.auth, &state.db, &state.metrics, &current, requests)
        .await?;
    Ok(comparison(&state.auth, &state.metrics))
}

/// The caller's own access token, decoded, for the playground to edit.
#[server(prefix = "/fn", endpoint = "token_parts", input = GetUrl, client = RefreshingClient)]
pub async fn own_token_parts() -> Result<TokenParts, AppError> {
    let call = ssr::call()?;
    crate::inspect::playground::token_parts(call.presented()?, &call.user()?)
}

/// The caller's token with an edited header, payload and signature: what does the server say?
#[server(prefix = "/fn", endpoint = "try_token", client = RefreshingClient)]
pub async fn try_token(
    header: String,
    payload: String,
    signature: SignatureEdit,
) -> Result<Verdict, AppError> {
    let call = ssr::call()?;
    let verdict = crate::inspect::playground::try_token(
        &call.state.auth,
        call.presented()?,
        &call.user()?,
        &header,
        &payload,
        signature,
    )
    .await?;
    call.show_verdict_without_javascript(&verdict);
    Ok(verdict)
}

/// One of the ready-made forgeries of the caller's token.
#[server(prefix = "/fn", endpoint = "try_preset", client = RefreshingClient)]
pub async fn try_preset(preset: TokenPreset) -> Result<Verdict, AppError> {
    let call = ssr::call()?;
    let verdict = crate::inspect::playground::try_preset(
        &call.state.auth,
        call.presented()?,
        &call.user()?,
        preset,
    )
    .await?;
    call.show_verdict_without_javascript(&verdict);
    Ok(verdict)
}

/// A session ID that should not work: random, signed out, or malformed.
#[server(prefix = "/fn", endpoint = "try_session", client = RefreshingClient)]
pub async fn try_session(probe: SessionProbe) -> Result<Verdict, AppError> {
    let call = ssr::call()?;
    let verdict =
        crate::inspect::playground::try_session(&call.state.auth, &call.live_user().await?, probe)
            .await?;
    call.show_verdict_without_javascript(&verdict);
    Ok(verdict)
}
