//! How a request is recognised.
//!
//! [`AuthMode`] is the interface every way of telling clients apart implements: the cookie
//! session mode ([`session::SessionMode`]) and the JWT mode ([`jwt::JwtMode`]). The recognition
//! middleware asks [`Auth`] once per request and leaves a [`Recognition`] in the request's
//! extensions; handlers and server functions then ask for a [`CurrentUser`] and never look at
//! cookies or headers themselves.

mod accounts;
pub mod denylist;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod playground;
pub mod session;
pub mod session_store;
pub mod throttle;

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use http::request::Parts;
use tower_cookies::{Cookie, Cookies, cookie::SameSite, cookie::time::Duration as CookieDuration};

use crate::{
    db::{Db, UserRecord},
    error::AppError,
    model::{DeviceView, Killed, Mode, Moment, RecognitionReport, Revoked, Viewer},
    server::clock::Clock,
};
use jwt::JwtMode;
use password::Passwords;
use session::SessionMode;
use throttle::SignInThrottle;

/// Remembers, per browser, the mode last chosen at sign-in: a preference, not a credential.
pub const MODE_CHOICE_COOKIE: &str = "tb_mode";

/// A request made inside the server (the load generator, the playground): a GET from the
/// loopback address with `cookie`, `user_agent`, and whatever `extend` adds. Only code can build
/// one; nothing from outside can put extensions on a request.
pub fn in_process_request(
    cookie: &str,
    user_agent: &str,
    extend: impl FnOnce(&mut http::Extensions),
) -> Parts {
    let (mut parts, ()) = http::Request::get("/fn/viewer")
        .header(http::header::COOKIE, cookie)
        .header(http::header::USER_AGENT, user_agent)
        .body(())
        .expect("a request from static parts is valid")
        .into_parts();
    parts
        .extensions
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))));
    extend(&mut parts.extensions);
    parts
}

/// The `name=value` pairs of a request's `Cookie` headers.
fn cookie_pairs(parts: &Parts) -> impl Iterator<Item = (&str, &str)> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// The value of the cookie `name` as the browser sent it.
pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_pairs(parts)
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The bytes of `name=value` as the browser sent it, 0 if it did not.
pub fn cookie_bytes(parts: &Parts, name: &str) -> usize {
    cookie_value(parts, name).map_or(0, |value| name.len() + 1 + value.len())
}

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
        }
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
    /// Revoked, with the reason and until when its last access token still works.
    pub revoked: Option<(String, i64)>,
}

impl Device {
    pub fn view(&self, current: &CurrentUser, now: i64) -> DeviceView {
        DeviceView {
            id: self.id.clone(),
            mode: self.mode,
            device: self.device.clone(),
            ip: self.ip.clone(),
            created: Moment::at(self.created_at, now),
            last_active: Moment::at(self.last_seen_at, now),
            expires: Moment::at(self.expires_at, now),
            is_current: self.mode == current.mode && self.id == current.device_id,
            revoked: self.revoked.as_ref().map(|(reason, until)| Revoked {
                reason: reason.clone(),
                access_valid_until: Moment::at(*until, now),
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
            Refusal::DeviceSignedOut => "device_signed_out",
            Refusal::TokenRevoked => "token_revoked",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Expired => write!(f, "the access token has expired"),
            Refusal::BadSignature => write!(f, "the signature does not match the token"),
            Refusal::AlgorithmNotAllowed(alg) => {
                write!(f, "the algorithm {alg} is not allowed, only HS256")
            }
            Refusal::WrongType => write!(f, "the token is not an access token (typ at+jwt)"),
            Refusal::MissingKid => write!(f, "the header names no key (kid)"),
            Refusal::UnknownKey(kid) => write!(f, "no key named {kid:?} is in the key ring"),
            Refusal::WrongIssuer => write!(f, "the token was issued by someone else (iss)"),
            Refusal::WrongAudience => write!(f, "the token is meant for someone else (aud)"),
            Refusal::MissingClaim(claim) => write!(f, "the {claim} claim is missing"),
            Refusal::IssuedInFuture => write!(f, "the token claims to be issued in the future"),
            Refusal::Malformed(detail) => write!(f, "malformed token: {detail}"),
            Refusal::UnknownSession => write!(f, "the session does not exist or has ended"),
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

/// One way for the server to tell its clients apart.
#[async_trait]
pub trait AuthMode: Send + Sync {
    fn mode(&self) -> Mode;

    /// Checks this mode's credentials on the request, if it carries any.
    async fn recognise(&self, parts: &Parts) -> Result<Recognised, AppError>;

    /// Gives this browser fresh credentials for `user`.
    async fn sign_in(&self, parts: &Parts, user: &UserRecord) -> Result<(), AppError>;

    /// Ends this browser's credentials.
    async fn sign_out(&self, parts: &Parts, current: &CurrentUser) -> Result<(), AppError>;

    /// What the server looked at to recognise this request, for the dashboard.
    async fn explain(
        &self,
        parts: &Parts,
        current: &CurrentUser,
    ) -> Result<RecognitionReport, AppError>;

    /// The user's devices in this mode.
    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError>;

    /// Ends one of the user's devices; `Ok(None)` if they have no live one with that id.
    async fn kill(&self, user_id: i64, device_id: &str) -> Result<Option<Killed>, AppError>;

    /// Ends all the user's devices in this mode except `keep`.
    async fn kill_all_except(&self, user_id: i64, keep: Option<&str>) -> Result<u64, AppError>;
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

    /// The recognised user, or the 401 that says why not: [`AppError::InvalidToken`] when
    /// credentials were refused, [`AppError::Unauthenticated`] when there were none.
    pub fn require(parts: &Parts) -> Result<CurrentUser, AppError> {
        let recognition = Self::of(parts);
        match (recognition.user, recognition.refused) {
            (Some(user), _) => Ok(user),
            (None, Some(refusal)) => Err(AppError::InvalidToken {
                reason: refusal.to_string(),
            }),
            (None, None) => Err(AppError::Unauthenticated),
        }
    }

    /// An expired access token: a refresh may sign the browser in again without a password.
    pub fn is_refreshable(&self) -> bool {
        self.user.is_none() && self.refused == Some(Refusal::Expired)
    }
}

/// The modes and what signing in needs: shared by every request.
#[derive(Clone)]
pub struct Auth {
    modes: Arc<[Arc<dyn AuthMode>]>,
    session: Arc<SessionMode>,
    jwt: Arc<JwtMode>,
    db: Db,
    passwords: Passwords,
    throttle: Arc<SignInThrottle>,
    clock: Clock,
    secure_cookies: bool,
}

impl Auth {
    pub fn new(
        session: Arc<SessionMode>,
        jwt: Arc<JwtMode>,
        db: Db,
        passwords: Passwords,
        throttle: SignInThrottle,
        clock: Clock,
        secure_cookies: bool,
    ) -> Self {
        let modes: Vec<Arc<dyn AuthMode>> = vec![session.clone(), jwt.clone()];
        Auth {
            modes: modes.into(),
            session,
            jwt,
            db,
            passwords,
            throttle: Arc::new(throttle),
            clock,
            secure_cookies,
        }
    }

    /// The session mode itself, for sessions opened outside a browser's request.
    pub fn sessions(&self) -> &SessionMode {
        &self.session
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// What stands between a password guesser and the password hasher.
    pub fn sign_in_throttle(&self) -> &SignInThrottle {
        &self.throttle
    }

    /// The JWT mode itself, for what only it does: refresh, and tokens for the JSON API.
    pub fn jwt(&self) -> &JwtMode {
        &self.jwt
    }

    fn mode(&self, mode: Mode) -> &dyn AuthMode {
        self.modes
            .iter()
            .find(|candidate| candidate.mode() == mode)
            .map(Arc::as_ref)
            .expect("every Mode has an AuthMode registered")
    }

    /// Asks each mode in turn; the first that recognises the request wins. Otherwise the first
    /// refusal is kept, to say why.
    pub async fn recognise(&self, parts: &Parts) -> Result<Recognition, AppError> {
        let mut recognition = Recognition::default();
        for mode in self.modes.iter() {
            match mode.recognise(parts).await? {
                Recognised::User(user) => {
                    return Ok(Recognition {
                        user: Some(user),
                        refused: None,
                    });
                }
                Recognised::Refused(refusal) => {
                    recognition.refused.get_or_insert(refusal);
                }
                Recognised::Absent => {}
            }
        }
        Ok(recognition)
    }

    /// Gives `user` credentials of `mode` on this request, as a sign-in does once the password is
    /// checked.
    pub async fn issue(
        &self,
        parts: &Parts,
        user: &UserRecord,
        mode: Mode,
    ) -> Result<(), AppError> {
        self.mode(mode).sign_in(parts, user).await
    }

    pub async fn sign_out(&self, parts: &Parts, current: &CurrentUser) -> Result<(), AppError> {
        self.mode(current.mode).sign_out(parts, current).await
    }

    pub async fn explain(
        &self,
        parts: &Parts,
        current: &CurrentUser,
    ) -> Result<RecognitionReport, AppError> {
        self.mode(current.mode).explain(parts, current).await
    }

    /// Gives this browser credentials of the other kind and ends the old ones, without asking
    /// for the password again: the request is already recognised.
    pub async fn switch_mode(
        &self,
        parts: &Parts,
        current: &CurrentUser,
        to: Mode,
    ) -> Result<(), AppError> {
        if current.mode == to {
            return Ok(());
        }
        let user = self
            .db
            .user_by_id(current.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.mode(to).sign_in(parts, &user).await?;
        self.mode(current.mode).sign_out(parts, current).await?;
        self.remember_mode(parts, to);
        Ok(())
    }

    /// Every device of the user, whatever its mode, most recently active first.
    pub async fn devices(&self, current: &CurrentUser) -> Result<Vec<DeviceView>, AppError> {
        let now = self.clock.now();
        let mut devices = Vec::new();
        for mode in self.modes.iter() {
            devices.extend(mode.devices(current.user_id).await?);
        }
        devices.sort_by_key(|device| {
            (
                device.revoked.is_some(),
                std::cmp::Reverse((device.last_seen_at, device.created_at)),
            )
        });
        Ok(devices
            .iter()
            .map(|device| device.view(current, now))
            .collect())
    }

    /// Ends one of the current user's devices. Another user's device, or none, is
    /// [`AppError::NotFound`] and changes nothing.
    pub async fn kill(&self, current: &CurrentUser, device_id: &str) -> Result<Killed, AppError> {
        for mode in self.modes.iter() {
            if let Some(killed) = mode.kill(current.user_id, device_id).await? {
                return Ok(killed);
            }
        }
        Err(AppError::NotFound)
    }

    /// Ends every device of the current user except this one; returns how many ended.
    pub async fn kill_others(&self, current: &CurrentUser) -> Result<u64, AppError> {
        let mut ended = 0;
        for mode in self.modes.iter() {
            let keep = (mode.mode() == current.mode).then_some(current.device_id.as_str());
            ended += mode.kill_all_except(current.user_id, keep).await?;
        }
        Ok(ended)
    }

    /// Ends every device of the current user, this one included.
    pub async fn kill_all(&self, parts: &Parts, current: &CurrentUser) -> Result<u64, AppError> {
        let others = self.kill_others(current).await?;
        self.sign_out(parts, current).await?;
        Ok(others + 1)
    }

    /// The mode this browser chose last, or the cookie session.
    pub fn remembered_mode(&self, parts: &Parts) -> Mode {
        parts
            .extensions
            .get::<Cookies>()
            .and_then(|cookies| cookies.get(MODE_CHOICE_COOKIE))
            .and_then(|cookie| Mode::from_key(cookie.value()))
            .unwrap_or(Mode::Session)
    }

    pub fn remember_mode(&self, parts: &Parts, mode: Mode) {
        if let Some(cookies) = parts.extensions.get::<Cookies>() {
            cookies.add(
                Cookie::build((MODE_CHOICE_COOKIE, mode.key()))
                    .path("/")
                    .http_only(true)
                    .secure(self.secure_cookies)
                    .same_site(SameSite::Lax)
                    .max_age(CookieDuration::days(365))
                    .build(),
            );
        }
    }
}

/// Extractor: the recognised user, or a 401 that says why.
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Recognition::require(parts)
    }
}
