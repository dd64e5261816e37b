//! The CSRF defence: state-changing requests must come from our own pages.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{
    HeaderMap, HeaderValue, Method,
    header::{self, ORIGIN, REFERER},
};

use crate::{
    api::state::AppState,
    core::{config::parse_origin, text::excerpt},
    error::AppError,
};

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
    let origin = request
        .headers()
        .get(ORIGIN)
        .map(|origin| excerpt(&String::from_utf8_lossy(origin.as_bytes()), 100));
    tracing::warn!(
        path = %excerpt(request.uri().path(), 100),
        origin = origin.as_deref().unwrap_or("(none)"),
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
