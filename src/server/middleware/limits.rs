//! Limits on what a request may carry.

use axum::{
    body::Body,
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::header;

use crate::error::AppError;

/// Requests carry a username and a password at most; anything bigger is refused with 413.
pub const MAX_REQUEST_BODY: usize = 16 * 1024;

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
