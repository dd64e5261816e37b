//! Server-function errors with the HTTP status their [`AppError`] maps to.

use axum::{
    body::Body,
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::StatusCode;

use crate::error::AppError;

/// Gives failed server-function calls the status their [`AppError`] maps to.
///
/// Leptos answers every server-function error with 500; the browser client decodes any 4xx/5xx
/// body as the error, so only the status needs mending. Form posts without JavaScript are
/// redirects and are left alone.
///
/// Server functions live under [`super::SERVER_FN_PREFIX`], and one (the sign-out) under the
/// refresh path: what marks their errors is Leptos' `serverfnerror` header, not the path.
pub async fn server_fn_statuses(request: Request, next: Next) -> Response {
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
