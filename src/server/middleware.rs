//! The request pipeline around the routes: origin check, recognition, page guard, error
//! statuses for server functions, and security headers.

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use http::{
    HeaderMap, HeaderValue, Method, StatusCode,
    header::{self, ORIGIN, REFERER},
};

use super::{
    client::ClientAddress,
    config::parse_origin,
    metrics::{Measured, measure_recognition},
    state::AppState,
};
use crate::{
    auth::Recognition,
    error::AppError,
    nav::{is_protected, login_url},
};

/// Path prefix of every server function (`#[server(prefix = ...)]`).
pub const SERVER_FN_PREFIX: &str = "/fn";

/// Requests carry a username and a password at most; anything bigger is refused with 413.
pub const MAX_REQUEST_BODY: usize = 16 * 1024;

/// Works out the client's address, through the proxies `TRUSTED_PROXIES` names, for the
/// devices page and the sign-in throttle.
pub async fn client_address(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let client = state
            .config
            .trusted_proxies
            .client_behind(peer, request.headers());
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

/// Refuses oversized bodies with 413: at once when `Content-Length` says so (hyper holds the
/// body to that length), and after reading at most the limit when the body is streamed without one.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_REQUEST_BODY as u64 => {
            AppError::PayloadTooLarge.into_response()
        }
        Some(_) => next.run(request).await,
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
                Ok(bytes) => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
                Err(_) => AppError::PayloadTooLarge.into_response(),
            }
        }
    }
}

/// Refuses state-changing requests that another site made the browser send (CSRF).
///
/// Leptos server functions accept plain form posts, which browsers send cross-site without a
/// preflight and, for top-level navigations, with SameSite=Lax cookies. So every request that is
/// not GET/HEAD/OPTIONS must prove it comes from our own pages:
/// 1. `Sec-Fetch-Site`, when the browser sends it, must be `same-origin` (or `none`: typed by
///    the user);
/// 2. otherwise `Origin` must be our public origin;
/// 3. otherwise `Referer` must start with it;
/// 4. a request with none of the three is not from a browser that could be tricked, unless it
///    carries cookies: then it is refused, since we cannot tell where it came from.
pub async fn refuse_cross_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe_method = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe_method || comes_from_our_pages(request.headers(), &state.config.public_origin) {
        return next.run(request).await;
    }
    tracing::warn!(
        path = request.uri().path(),
        origin = ?request.headers().get(ORIGIN),
        "refused a cross-origin state-changing request"
    );
    AppError::CrossOrigin.into_response()
}

fn comes_from_our_pages(headers: &HeaderMap, public_origin: &str) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    if let Some(origin) = text(ORIGIN.as_str()) {
        return parse_origin(origin).as_deref() == Some(public_origin);
    }
    if let Some(referer) = text(REFERER.as_str()) {
        return parse_origin(referer).as_deref() == Some(public_origin);
    }
    !headers.contains_key(header::COOKIE)
}

/// Finds out who sent the request, once, measures what that cost, and leaves both in its
/// extensions. A recognised request's response says the cost in `Server-Timing`, so that it shows
/// in the browser's developer tools.
pub async fn recognise(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Measured {
        recognition,
        cost,
        column,
    } = match measure_recognition(&state, &parts).await {
        Ok(measured) => measured,
        Err(error) => return error.into_response(),
    };
    parts.extensions.insert(recognition);
    parts.extensions.insert(cost);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(column) = column {
        let timing = format!(
            r#"recognition;dur={:.3};desc="{column}: {} queries, {} credential bytes""#,
            cost.micros / 1000.0,
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
fn is_page_load(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
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
    if request.method() == Method::GET
        && recognition.user.is_none()
        && is_protected(request.uri().path())
    {
        return Redirect::to(&login_url(&wanted)).into_response();
    }
    next.run(request).await
}

/// Gives failed server-function calls the status their [`AppError`] maps to.
///
/// Leptos answers every server-function error with 500; the browser client decodes any 4xx/5xx
/// body as the error, so only the status needs mending. Form posts without JavaScript are
/// redirects and are left alone.
pub async fn server_fn_statuses(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with(SERVER_FN_PREFIX) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = error.status_code();
        // The browser's server-function client refreshes and retries on a 401 challenge.
        error.add_headers(&mut parts.headers);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Browsers ignore a `__Host-` or `__Secure-` cookie without `Secure`, removals included, and
/// tower-sessions 0.15 builds its removal cookie without it: add it, so that signing out really
/// deletes the session cookie over https.
pub async fn secure_prefixed_removals(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mended: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap_or_default();
            let prefixed = text.starts_with("__Host-") || text.starts_with("__Secure-");
            let secure = text
                .split(';')
                .any(|part| part.trim().eq_ignore_ascii_case("secure"));
            if prefixed && !secure {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| value.clone())
            } else {
                value.clone()
            }
        })
        .collect();
    headers.remove(header::SET_COOKIE);
    for value in mended {
        headers.append(header::SET_COOKIE, value);
    }
    response
}

/// Headers every response gets: no framing (the kill buttons must not be clickjacked), no
/// content sniffing, no full URLs leaked to other sites, and no caching of anything personal.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set("x-frame-options", "DENY");
    set("content-security-policy", "frame-ancestors 'none'");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    if !cacheable {
        set("cache-control", "no-store");
    }
    response
}
