//! Security headers on every response.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use crate::api::state::AppState;
use http::HeaderValue;

/// Headers every response gets: no framing (the kill buttons must not be clickjacked), no
/// content sniffing, no full URLs leaked to other sites, and no caching of anything personal.
///
/// Every response also names the instance that answered it (`X-Instance`, `INSTANCE_NAME`).
///
/// Over https (`PUBLIC_URL`), `Strict-Transport-Security` too: browsers then refuse plain
/// http to this host for a year, so no network on the way can strip TLS and read a cookie.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
    if state.config.secure_cookies() {
        set("strict-transport-security", "max-age=31536000");
    }
    // Which instance answered, behind a load balancer (checked to be a plain name at start).
    if let Ok(instance) = HeaderValue::from_str(&state.config.instance_name) {
        headers.insert("x-instance", instance);
    }
    response
}
