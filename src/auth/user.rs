//! Who a request was recognised as, or why it was not.

use std::fmt;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::{
    error::AppError,
    model::{DeviceView, Lifetime, Mode, Moment, RevocationReason, Revoked, Role, Viewer},
};

/// The user a request was recognised as, and by which mode.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub mode: Mode,
    /// The public id of this browser's entry on the devices page.
    pub device_id: String,
}

impl CurrentUser {
    pub fn viewer(&self) -> Viewer {
        Viewer {
            username: self.username.clone(),
            mode: self.mode,
            is_admin: self.role == Role::Admin.key(),
        }
    }
}

/// A recognised user whose server-side record is live: a session (recognition read it from its
/// store), or a JWT whose refresh family has not been revoked. Only
/// [`super::Auth::confirm_live`] makes one, and every action that issues credentials or changes
/// state takes one: a killed device's leftover access token can read until `exp`, and do
/// nothing that outlives it.
#[derive(Clone, Debug)]
pub struct LiveUser(CurrentUser);

impl LiveUser {
    pub(super) fn confirmed(user: CurrentUser) -> Self {
        LiveUser(user)
    }
}

impl std::ops::Deref for LiveUser {
    type Target = CurrentUser;

    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

/// One place a user is signed in, as a mode stores it.
#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub mode: Mode,
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// Signed in with "Remember me", and the lifetime that gives it today.
    pub remembered: bool,
    pub lifetime: Lifetime,
    /// Revoked, with the reason and until when its last access token still works (`None`
    /// when this server already refuses it).
    pub revoked: Option<(RevocationReason, Option<i64>)>,
}

impl Device {
    /// The device as pages show it; `current` marks it as the viewer's own (none when an
    /// administrator looks at someone else's).
    pub fn view(&self, current: Option<&CurrentUser>, now: i64) -> DeviceView {
        DeviceView {
            id: self.id.clone(),
            mode: self.mode,
            device: self.device.clone(),
            ip: self.ip.clone(),
            created: Moment::at(self.created_at, now),
            last_active: Moment::at(self.last_seen_at, now),
            expires: Moment::at(self.expires_at, now),
            remembered: self.remembered,
            lifetime: self.lifetime,
            ends_at_latest: Moment::at(self.created_at + self.lifetime.absolute, now),
            is_current: current
                .is_some_and(|current| self.mode == current.mode && self.id == current.device_id),
            revoked: self.revoked.as_ref().map(|(reason, until)| Revoked {
                reason: *reason,
                access_valid_until: until.map(|until| Moment::at(until, now)),
            }),
        }
    }
}

/// Why credentials that a request presented were not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The access token's time is up; a refresh can bring a new one.
    Expired,
    BadSignature,
    AlgorithmNotAllowed(String),
    WrongType,
    MissingKid,
    UnknownKey(String),
    WrongIssuer,
    WrongAudience,
    MissingClaim(String),
    IssuedInFuture,
    Malformed(String),
    /// A session cookie that names no live session.
    UnknownSession,
    /// A session cookie whose session someone ended, for this reason.
    SessionEnded(RevocationReason),
    /// "session-check": the token's refresh family was revoked.
    DeviceSignedOut,
    /// "denylist": this access token was revoked.
    TokenRevoked,
}

impl Refusal {
    /// A stable name for tests and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::BadSignature => "bad_signature",
            Refusal::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
            Refusal::WrongType => "wrong_type",
            Refusal::MissingKid => "missing_kid",
            Refusal::UnknownKey(_) => "unknown_key",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongAudience => "wrong_audience",
            Refusal::MissingClaim(_) => "missing_claim",
            Refusal::IssuedInFuture => "issued_in_future",
            Refusal::Malformed(_) => "malformed",
            Refusal::UnknownSession => "unknown_session",
            Refusal::SessionEnded(_) => "session_ended",
            Refusal::DeviceSignedOut => "device_signed_out",
            Refusal::TokenRevoked => "token_revoked",
        }
    }
}

impl Refusal {
    /// Refusals of a JWT access token: the 401 carries a Bearer `invalid_token` challenge, which
    /// the browser's client answers with a refresh. A refused session cookie is not one.
    pub fn is_about_an_access_token(&self) -> bool {
        !matches!(self, Refusal::UnknownSession | Refusal::SessionEnded(_))
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Expired => write!(f, "the access token has expired"),
            Refusal::BadSignature => write!(f, "the signature does not match the token"),
            Refusal::AlgorithmNotAllowed(alg) => {
                write!(
                    f,
                    "the algorithm {alg} is not allowed: only the one this server signs with"
                )
            }
            Refusal::WrongType => write!(f, "the token is not an access token (typ at+jwt)"),
            Refusal::MissingKid => write!(f, "the header names no key (kid)"),
            Refusal::UnknownKey(kid) => write!(f, "no key named \"{kid}\" is in the key ring"),
            Refusal::WrongIssuer => write!(f, "the token was issued by someone else (iss)"),
            Refusal::WrongAudience => write!(f, "the token is meant for someone else (aud)"),
            Refusal::MissingClaim(claim) => write!(f, "the {claim} claim is missing"),
            Refusal::IssuedInFuture => write!(f, "the token claims to be issued in the future"),
            Refusal::Malformed(detail) => write!(f, "malformed token: {detail}"),
            Refusal::UnknownSession => write!(f, "the session does not exist or has ended"),
            Refusal::SessionEnded(reason) => {
                write!(f, "the session was ended because {}", reason.because())
            }
            Refusal::DeviceSignedOut => {
                write!(
                    f,
                    "this device was signed out (its refresh family is revoked)"
                )
            }
            Refusal::TokenRevoked => write!(f, "this access token was revoked (denylist)"),
        }
    }
}

/// What a mode made of a request.
#[derive(Clone, Debug)]
pub enum Recognised {
    /// This mode's credentials are not on the request.
    Absent,
    User(CurrentUser),
    Refused(Refusal),
}

/// What recognition found, left in the request's extensions by the middleware.
#[derive(Clone, Debug, Default)]
pub struct Recognition {
    pub user: Option<CurrentUser>,
    /// Credentials that were presented and refused, when no mode recognised the request.
    pub refused: Option<Refusal>,
}

impl Recognition {
    /// The user the middleware recognised on this request, if any.
    pub fn user_of(parts: &Parts) -> Option<CurrentUser> {
        Self::of(parts).user
    }

    pub fn of(parts: &Parts) -> Recognition {
        parts
            .extensions
            .get::<Recognition>()
            .cloned()
            .unwrap_or_default()
    }

    /// The recognised user, or the 401 that says why not: [`AppError::InvalidToken`] when an
    /// access token was refused (a refresh may cure it), [`AppError::Unauthenticated`] when
    /// there were no credentials or the session has ended.
    pub fn require(parts: &Parts) -> Result<CurrentUser, AppError> {
        Self::of(parts).into_user()
    }

    /// The user, or the 401 that says why not (see [`Recognition::require`]).
    pub fn into_user(self) -> Result<CurrentUser, AppError> {
        match (self.user, self.refused) {
            (Some(user), _) => Ok(user),
            (None, Some(refusal)) if refusal.is_about_an_access_token() => {
                Err(AppError::InvalidToken {
                    reason: refusal.to_string(),
                })
            }
            (None, Some(Refusal::SessionEnded(reason))) => Err(AppError::SessionEnded { reason }),
            (None, _) => Err(AppError::Unauthenticated),
        }
    }

    /// An expired access token: a refresh may sign the browser in again without a password.
    pub fn is_refreshable(&self) -> bool {
        self.user.is_none() && self.refused == Some(Refusal::Expired)
    }
}

/// Extractor: the recognised user, or a 401 that says why.
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Recognition::require(parts)
    }
}
