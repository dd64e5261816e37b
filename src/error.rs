//! The app's one error type.
//!
//! Every failure a user can meet is one variant here, with its HTTP status in [`AppError::status`].
//! It crosses the wire as JSON, so the server-function client in the browser gets the same value
//! back, and a form posted without JavaScript gets it through the redirect URL (Leptos' `__err`).
//! Internal failures never carry their cause to the client: the server logs the cause where it
//! turns it into [`AppError::Internal`].

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

use crate::model::RevocationReason;

/// One input that was refused, and why, in words meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

const CORRECT_THE_FIELDS: &str = "Please correct the fields marked below.";
const USERNAME_TAKEN: &str = "This username is already taken.";

/// How a session store's error begins when the store cannot be reached (Redis down): such an
/// error becomes [`AppError::StoreUnavailable`], a 503, not a 500.
pub const STORE_UNAVAILABLE: &str = "session store unavailable";
/// Whether a database error says the database is out of reach (a connection refused or cut,
/// no connection free within the pool's wait), rather than that a statement went wrong: the
/// first is a 503 that the next try may not get, the second a bug.
#[cfg(feature = "ssr")]
pub fn database_out_of_reach(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}

/// Seconds a client waits before trying an unreachable session store again.
pub const STORE_RETRY_AFTER: i64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    /// Some inputs were wrong; nothing was changed.
    #[error("{CORRECT_THE_FIELDS}")]
    Invalid { fields: Vec<FieldError> },
    /// The username belongs to another account (letter case aside): a 409 Conflict, and the
    /// username field's error on the sign-up form.
    #[error("{USERNAME_TAKEN}")]
    UsernameTaken,
    /// Deliberately the same whether the user exists or the password is wrong.
    #[error("Invalid username or password.")]
    InvalidCredentials,
    /// The request carries no credentials.
    #[error("You are not signed in, or your sign-in has ended.")]
    Unauthenticated,
    /// The request's cookie session was ended by someone else: another device, a password
    /// change, the device limit.
    #[error("You were signed out because {}.", reason.because())]
    SessionEnded { reason: RevocationReason },
    /// The account is signed in on as many devices as its policy allows, and the policy refuses
    /// more.
    #[error(
        "This account may be signed in on at most {limit} devices at once, and it is. Sign one \
         of them out on its devices page, or raise the limit on its account page."
    )]
    DeviceLimit { limit: i64 },
    /// The request carries credentials that were refused (expired, forged, revoked...).
    #[error("Your credentials were refused: {reason}.")]
    InvalidToken { reason: String },
    /// A refresh token that cannot be exchanged.
    #[error("Your sign-in could not be renewed: {reason}.")]
    RefreshRefused { reason: String },
    /// Missing, or not the caller's: the two are indistinguishable on purpose.
    #[error("Not found.")]
    NotFound,
    /// A state-changing request that another site made the browser send.
    #[error("Cross-origin request refused.")]
    CrossOrigin,
    #[error("Request too large.")]
    PayloadTooLarge,
    /// The request's body did not arrive in time.
    #[error("The request took too long to arrive.")]
    RequestTimeout,
    /// Too many sign-ins failed lately for this account from this network, or from this
    /// network for any account; `retry_after` seconds until the next may be tried.
    #[error("Too many failed sign-in attempts. Try again in {}.", describe_wait(*retry_after))]
    TooManyAttempts { retry_after: i64 },
    /// Too many accounts were created from this network lately.
    #[error("Too many sign-ups from your network. Try again in {}.", describe_wait(*retry_after))]
    TooManySignUps { retry_after: i64 },
    /// Too many requests of one kind lately (refreshes of one device, say); `retry_after`
    /// seconds until the next may be tried.
    #[error("Too many requests. Try again in {}.", describe_wait(*retry_after))]
    TooManyRequests { retry_after: i64 },
    /// The password hasher's queue is full: the client should retry shortly.
    #[error("The server is busy. Please try again in a moment.")]
    Busy,
    /// The session store (Redis) cannot be reached: nobody is signed out, the request can be
    /// tried again shortly.
    #[error(
        "Cookie sessions are unavailable for a moment: this server cannot reach its session \
         store. Nobody was signed out; try again in a few seconds."
    )]
    StoreUnavailable,
    /// The database cannot be reached (PostgreSQL stopped, its network cut, its pool out of
    /// connections for seconds): nothing was changed, nobody is signed out, the request can be
    /// tried again shortly.
    #[error(
        "The database cannot be reached for a moment. Nothing was changed and nobody was signed \
         out; try again in a few seconds."
    )]
    DatabaseUnavailable,
    /// The load balancer's runtime API (`HAPROXY_SOCKET`) did not answer, or refused.
    #[error("The load balancer did not answer; nothing was changed. Try again in a moment.")]
    BalancerUnavailable,
    /// A request the server could not read (malformed arguments, wrong types).
    #[error("Bad request: {reason}")]
    BadRequest { reason: String },
    /// Credentials presented in a way that cannot be read unambiguously (RFC 6750 §3.1
    /// `invalid_request`): two `Authorization` headers, say.
    #[error("Invalid request: {reason}")]
    InvalidRequest { reason: String },
    /// The browser could not reach the server (only ever built on the client).
    #[error("Could not reach the server: {reason}")]
    Network { reason: String },
    #[error("Something went wrong on our side.")]
    Internal,
}

impl AppError {
    /// The one mapping from error to HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::UsernameTaken | AppError::DeviceLimit { .. } => 409,
            AppError::InvalidCredentials
            | AppError::Unauthenticated
            | AppError::SessionEnded { .. }
            | AppError::InvalidToken { .. }
            | AppError::RefreshRefused { .. } => 401,
            AppError::NotFound => 404,
            AppError::CrossOrigin => 403,
            AppError::PayloadTooLarge => 413,
            AppError::RequestTimeout => 408,
            AppError::TooManyAttempts { .. }
            | AppError::TooManyRequests { .. }
            | AppError::TooManySignUps { .. } => 429,
            AppError::Busy
            | AppError::StoreUnavailable
            | AppError::DatabaseUnavailable
            | AppError::BalancerUnavailable => 503,
            AppError::BadRequest { .. } | AppError::InvalidRequest { .. } => 400,
            AppError::Network { .. } | AppError::Internal => 500,
        }
    }

    /// Errors that only signing in again can cure: the page sends the user to the login page.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AppError::Unauthenticated
                | AppError::SessionEnded { .. }
                | AppError::InvalidToken { .. }
                | AppError::RefreshRefused { .. }
        )
    }

    /// A request the server could not read. The reason may quote what the client sent: only a
    /// short excerpt of it goes back.
    pub fn bad_request(reason: &str) -> Self {
        const MAX_CHARS: usize = 200;
        let cut = reason.chars().count() > MAX_CHARS;
        let mut reason: String = reason.chars().take(MAX_CHARS).collect();
        if cut {
            reason.push('…');
        }
        AppError::BadRequest { reason }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            fields: vec![FieldError {
                field: field.to_owned(),
                message: message.into(),
            }],
        }
    }

    /// The same error with the field `from` called `to`: one rule checked for two forms.
    pub fn renaming_field(self, from: &str, to: &str) -> Self {
        match self {
            AppError::Invalid { mut fields } => {
                for field in fields.iter_mut().filter(|field| field.field == from) {
                    field.field = to.to_owned();
                }
                AppError::Invalid { fields }
            }
            other => other,
        }
    }

    /// The message for one form field, if this error names it.
    pub fn field(&self, name: &str) -> Option<&str> {
        match self {
            AppError::Invalid { fields } => fields
                .iter()
                .find(|f| f.field == name)
                .map(|f| f.message.as_str()),
            AppError::UsernameTaken if name == "username" => Some(USERNAME_TAKEN),
            _ => None,
        }
    }

    /// What a form says above its fields: when the error is told at a field, only that the
    /// fields need a look.
    pub fn form_message(&self) -> String {
        match self {
            AppError::Invalid { .. } | AppError::UsernameTaken => CORRECT_THE_FIELDS.into(),
            other => other.to_string(),
        }
    }
}

/// `40 seconds`, or whole minutes rounded up: `2 minutes` for 61 seconds.
fn describe_wait(seconds: i64) -> String {
    let seconds = seconds.max(1);
    let rounded = if seconds < 60 {
        seconds
    } else {
        (seconds + 59) / 60 * 60
    };
    crate::model::describe_seconds(rounded)
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => {
                AppError::bad_request(&reason)
            }
            // On the server this is a request body it could not read (not UTF-8, say): the
            // client's fault, not ours.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(reason) => AppError::bad_request(&reason),
            ServerFnErrorErr::Request(reason) => AppError::Network { reason },
            // Anything else is the framework failing, not the user: no details leave the server.
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                let _ = other;
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::ErrorBody;

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use axum::{
        Json,
        http::{
            HeaderMap, HeaderValue, StatusCode,
            header::{RETRY_AFTER, WWW_AUTHENTICATE},
        },
        response::{IntoResponse, Response},
    };

    impl AppError {
        /// Logs an internal failure with its whole cause chain and hides it from the client.
        pub fn internal(context: &'static str, error: &(dyn std::error::Error + 'static)) -> Self {
            let mut chain = error.to_string();
            let mut source = error.source();
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::error!(context, error = %chain, "internal error");
            AppError::Internal
        }

        pub fn status_code(&self) -> StatusCode {
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }

        /// The `WWW-Authenticate` challenge of a 401 whose access or refresh token was refused
        /// (RFC 6750 `invalid_token`): the browser's client answers it with a refresh. A 401
        /// without credentials gets none here: a cookie-session browser has no token to renew,
        /// and the JSON API adds its own plain `Bearer` challenge. A wrong password gets none:
        /// no token would help.
        pub fn www_authenticate(&self) -> Option<HeaderValue> {
            let (code, reason) = match self {
                AppError::InvalidToken { reason } | AppError::RefreshRefused { reason } => {
                    ("invalid_token", reason)
                }
                AppError::InvalidRequest { reason } => ("invalid_request", reason),
                _ => return None,
            };
            let reason: String = reason
                .chars()
                .take(200)
                .map(|c| {
                    if c == '"' || c == '\\' || c.is_control() {
                        '\''
                    } else {
                        c
                    }
                })
                .collect();
            let challenge = format!(
                r#"Bearer realm="ticketbooth", error="{code}", error_description="{reason}""#
            );
            HeaderValue::from_str(&challenge).ok()
        }

        /// The headers that go with this error's status: the 401 challenge, and how long a 429
        /// must wait (`Retry-After`).
        pub fn add_headers(&self, headers: &mut HeaderMap) {
            if let Some(challenge) = self.www_authenticate() {
                headers.insert(WWW_AUTHENTICATE, challenge);
            }
            let retry_after = match self {
                AppError::TooManyAttempts { retry_after }
                | AppError::TooManyRequests { retry_after }
                | AppError::TooManySignUps { retry_after } => (*retry_after).max(1),
                // A full hasher queue drains within a second or two.
                AppError::Busy => 1,
                // The connection manager tries again at the next request.
                AppError::StoreUnavailable | AppError::DatabaseUnavailable => {
                    super::STORE_RETRY_AFTER
                }
                // A load balancer restarting answers again within seconds.
                AppError::BalancerUnavailable => 2,
                _ => return,
            };
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            if super::database_out_of_reach(&error) {
                tracing::warn!(%error, "the database cannot be reached");
                return AppError::DatabaseUnavailable;
            }
            AppError::internal("database", &error)
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(error: tower_sessions::session::Error) -> Self {
            AppError::internal("session", &error)
        }
    }

    impl From<tower_sessions::session_store::Error> for AppError {
        fn from(error: tower_sessions::session_store::Error) -> Self {
            let unreachable = matches!(
                &error,
                tower_sessions::session_store::Error::Backend(message)
                    if message.starts_with(super::STORE_UNAVAILABLE)
            );
            if unreachable {
                tracing::warn!(%error, "the session store cannot be reached");
                return AppError::StoreUnavailable;
            }
            AppError::internal("session store", &error)
        }
    }

    impl From<tokio::task::JoinError> for AppError {
        fn from(error: tokio::task::JoinError) -> Self {
            AppError::internal("blocking task", &error)
        }
    }

    /// The JSON body of every failure: `{"error": "<kind>", "message": "<words>", ...}`, the
    /// kind's own fields beside the two (the OpenAPI document describes it from this type).
    #[derive(serde::Serialize, utoipa::ToSchema)]
    pub struct ErrorBody {
        #[serde(flatten)]
        pub error: AppError,
        /// The error in words meant for a person.
        pub message: String,
    }

    /// [`ErrorBody`] with the mapped status and the error's headers.
    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status = self.status_code();
            let mut headers = HeaderMap::new();
            self.add_headers(&mut headers);
            let message = self.to_string();
            let mut response = (
                status,
                Json(ErrorBody {
                    error: self,
                    message,
                }),
            )
                .into_response();
            response.headers_mut().extend(headers);
            response
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use axum::http::{HeaderMap, header::RETRY_AFTER};

    use super::AppError;

    fn retry_after(error: AppError) -> Option<String> {
        let mut headers = HeaderMap::new();
        error.add_headers(&mut headers);
        headers
            .get(RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    #[test]
    fn waiting_errors_say_how_long_in_words_and_in_retry_after() {
        let locked = AppError::TooManyAttempts { retry_after: 61 };
        assert_eq!(
            locked.to_string(),
            "Too many failed sign-in attempts. Try again in 2 minutes."
        );
        assert_eq!(locked.status(), 429);
        assert_eq!(retry_after(locked).as_deref(), Some("61"));
        let almost = AppError::TooManyAttempts { retry_after: 40 };
        assert!(almost.to_string().ends_with("Try again in 40 seconds."));
        assert_eq!(retry_after(AppError::Busy).as_deref(), Some("1"));
        assert_eq!(retry_after(AppError::InvalidCredentials), None);
    }
}
