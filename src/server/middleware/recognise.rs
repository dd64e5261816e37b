//! Recognition, once per request: who is on the other end, what they present, who that is,
//! and what finding out cost. Then the page guard, which acts on the answer.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use http::{HeaderValue, Method};
use tower_cookies::Cookies;

use super::SERVER_FN_PREFIX;
use crate::{
    api::state::AppState,
    auth::{Recognition, Refusal, credentials::Authorization},
    core::client::{ClientInfo, accepts_html},
    error::AppError,
    inspect::metrics::{Measured, measure_recognition},
    nav::{is_protected, login_url, login_url_signed_out},
};

/// Works out the client (through the proxies `TRUSTED_PROXIES` names), reads the credentials
/// the request presents, recognises them, measures what that cost, and leaves all four in the
/// request's extensions for everything after. A recognised request's response says the cost in
/// `Server-Timing`, so that it shows in the browser's developer tools.
pub async fn recognise(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = ClientInfo::of(peer, &parts.headers, &state.config.trusted_proxies);
    let presented = state.auth.read_credentials(&parts.headers);
    if presented.authorization == Authorization::Repeated {
        return AppError::InvalidRequest {
            reason: "send one Authorization header, not several".into(),
        }
        .into_response();
    }
    let Measured {
        recognition,
        cookies,
        cost,
        column,
    } = match measure_recognition(
        &state.auth,
        &state.metrics,
        &presented,
        &client,
        state.auth.revocation(),
    )
    .await
    {
        Ok(measured) => measured,
        // A browser loading a page gets a page, with the same status and Retry-After.
        Err(error) if accepts_html(&parts.headers) && !parts.uri.path().starts_with("/api/") => {
            return crate::api::http::error_page(&error);
        }
        Err(error) => return error.into_response(),
    };
    if let Some(jar) = parts.extensions.get::<Cookies>() {
        cookies.apply(jar);
    }
    parts.extensions.insert(recognition);
    parts.extensions.insert(cost);
    parts.extensions.insert(presented);
    parts.extensions.insert(client);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(column) = column {
        let timing = format!(
            r#"recognition;dur={:.3};desc="{}: {} queries, {} credential bytes""#,
            cost.micros / 1000.0,
            column.key(),
            cost.queries,
            cost.credential_bytes
        );
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().append("server-timing", value);
        }
    }
    response
}

/// Page loads only: a browser asking for HTML, not a server function, the API or an asset.
/// GET, or HEAD (a GET without the body, which axum answers with the GET handler).
fn reads(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

fn is_page_load(request: &Request) -> bool {
    let path = request.uri().path();
    reads(request.method())
        && accepts_html(request.headers())
        && ![SERVER_FN_PREFIX, "/api/", "/auth/", "/pkg/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
}

/// Before a page is rendered: an expired access token goes through the refresh page first, and
/// anonymous visitors of a protected page go to the login page, remembering where they were
/// going. The pages check again on the client, for navigations that never reach here.
pub async fn guard_pages(request: Request, next: Next) -> Response {
    let recognition = request
        .extensions()
        .get::<Recognition>()
        .cloned()
        .unwrap_or_default();
    let wanted = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    if recognition.is_refreshable() && is_page_load(&request) {
        return crate::api::http::refresh_page(&wanted);
    }
    if reads(request.method()) && recognition.user.is_none() && is_protected(request.uri().path()) {
        let login = match recognition.refused {
            Some(Refusal::SessionEnded(reason)) => login_url_signed_out(&wanted, reason),
            _ => login_url(&wanted),
        };
        return Redirect::to(&login).into_response();
    }
    next.run(request).await
}
