//! How a request is recognised.
//!
//! [`AuthMode`] is the interface every way of telling clients apart implements; the cookie
//! session mode ([`session::SessionMode`]) is the first. The recognition middleware asks [`Auth`]
//! once per request and leaves a [`Recognition`] in the request's extensions; handlers and server
//! functions then ask for a [`CurrentUser`] and never look at cookies or headers themselves.

mod accounts;
pub mod password;
pub mod session;
pub mod session_store;

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::{
    db::{Db, UserRecord},
    error::AppError,
    model::{DeviceView, Mode, Moment, RecognitionReport, Viewer},
    server::clock::Clock,
};
use password::Passwords;

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
            is_current: self.id == current.device_id,
        }
    }
}

/// One way for the server to tell its clients apart.
#[async_trait]
pub trait AuthMode: Send + Sync {
    fn mode(&self) -> Mode;

    /// Checks this mode's credentials on the request. `Ok(None)`: there are none, or they are
    /// no longer good.
    async fn recognise(&self, parts: &Parts) -> Result<Option<CurrentUser>, AppError>;

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

    /// The user's live devices in this mode.
    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError>;

    /// Ends one of the user's devices; `Ok(false)` if they have none with that id.
    async fn kill(&self, user_id: i64, device_id: &str) -> Result<bool, AppError>;

    /// Ends all the user's devices in this mode except `keep`.
    async fn kill_all_except(&self, user_id: i64, keep: Option<&str>) -> Result<u64, AppError>;
}

/// What recognition found, left in the request's extensions by the middleware.
#[derive(Clone, Debug, Default)]
pub struct Recognition(pub Option<CurrentUser>);

impl Recognition {
    /// The user the middleware recognised on this request, if any.
    pub fn user_of(parts: &Parts) -> Option<CurrentUser> {
        parts
            .extensions
            .get::<Recognition>()
            .and_then(|recognition| recognition.0.clone())
    }
}

/// The modes and what signing in needs: shared by every request.
#[derive(Clone)]
pub struct Auth {
    modes: Arc<[Arc<dyn AuthMode>]>,
    db: Db,
    passwords: Passwords,
    clock: Clock,
}

impl Auth {
    pub fn new(modes: Vec<Arc<dyn AuthMode>>, db: Db, passwords: Passwords, clock: Clock) -> Self {
        Auth {
            modes: modes.into(),
            db,
            passwords,
            clock,
        }
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    fn mode(&self, mode: Mode) -> &dyn AuthMode {
        self.modes
            .iter()
            .find(|candidate| candidate.mode() == mode)
            .map(Arc::as_ref)
            .expect("every Mode has an AuthMode registered")
    }

    /// Asks each mode in turn; the first that recognises the request wins.
    pub async fn recognise(&self, parts: &Parts) -> Result<Option<CurrentUser>, AppError> {
        for mode in self.modes.iter() {
            if let Some(user) = mode.recognise(parts).await? {
                return Ok(Some(user));
            }
        }
        Ok(None)
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

    /// Every live device of the user, whatever its mode, most recently active first.
    pub async fn devices(&self, current: &CurrentUser) -> Result<Vec<DeviceView>, AppError> {
        let now = self.clock.now();
        let mut devices = Vec::new();
        for mode in self.modes.iter() {
            devices.extend(mode.devices(current.user_id).await?);
        }
        devices.sort_by_key(|device| std::cmp::Reverse((device.last_seen_at, device.created_at)));
        Ok(devices
            .iter()
            .map(|device| device.view(current, now))
            .collect())
    }

    /// Ends one of the current user's devices. Another user's device, or none, is
    /// [`AppError::NotFound`] and changes nothing.
    pub async fn kill(&self, current: &CurrentUser, device_id: &str) -> Result<(), AppError> {
        for mode in self.modes.iter() {
            if mode.kill(current.user_id, device_id).await? {
                return Ok(());
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
}

/// Extractor: the recognised user, or [`AppError::Unauthenticated`].
impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Recognition::user_of(parts).ok_or(AppError::Unauthenticated)
    }
}

/// Extractor: the recognised user, if any.
pub struct MaybeCurrentUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCurrentUser(Recognition::user_of(parts)))
    }
}
