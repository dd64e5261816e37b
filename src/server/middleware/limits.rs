//! Limits on what a request may carry.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::header;

use crate::{api::state::AppState, error::AppError};

/// Requests carry a username and a password at most; anything bigger is refused with 413.
pub const MAX_REQUEST_BODY: usize = 16 * 1024;

/// Reads every request's body before anything else runs, within `REQUEST_BODY_TIMEOUT` and at
/// most [`MAX_REQUEST_BODY`] bytes: 413 at once when `Content-Length` says more, 413 when a
/// streamed body grows past it, 408 when the body does not arrive in time (a client trickling
/// its body holds nothing for long).
pub async fn limit_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY as u64) {
        return AppError::PayloadTooLarge.into_response();
    }
    let (parts, body) = request.into_parts();
    let deadline = Duration::from_secs(state.config.request_body_timeout.unsigned_abs());
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_REQUEST_BODY)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => AppError::PayloadTooLarge.into_response(),
        Err(_) => AppError::RequestTimeout.into_response(),
    }
}
