//! The small interface both ways of telling clients apart implement. It takes values, never a
//! request, and hands back the cookies it wants the browser to keep.

use async_trait::async_trait;

use super::{CookieChanges, Credentials, CurrentUser, Device, Recognised};
use crate::{
    core::client::ClientInfo,
    db::UserRecord,
    error::AppError,
    model::{Killed, Mode, Revocation, RevocationReason},
};

/// Credentials just issued, and the device they made.
pub struct Issued {
    pub cookies: CookieChanges,
    /// The new device's public id, as on the devices page.
    pub device_id: String,
}

/// What ending several devices did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    pub count: u64,
    /// The latest expiry among the ended JWT devices' access tokens, which stay valid until
    /// then: a JWT cannot be called back.
    pub access_valid_until: Option<i64>,
}

impl Ended {
    pub fn and(self, other: Ended) -> Ended {
        Ended {
            count: self.count + other.count,
            access_valid_until: self.access_valid_until.max(other.access_valid_until),
        }
    }
}

/// One way for the server to tell its clients apart.
#[async_trait]
pub trait AuthMode: Send + Sync {
    fn mode(&self) -> Mode;

    // Recognising and issuing credentials.

    /// Checks this mode's credentials among those presented, if there are any, under the JWT
    /// `revocation` setting (a mode that revokes nothing early ignores it); the cookies the
    /// response should set (a renewed or forgotten session cookie).
    async fn recognise(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        revocation: Revocation,
    ) -> Result<(Recognised, CookieChanges), AppError>;

    /// Fresh credentials of this mode for `user` on `client`, with the long lifetimes of
    /// "Remember me" or the short ones.
    async fn issue(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
        remembered: bool,
    ) -> Result<Issued, AppError>;

    /// Ends whatever credentials of this mode the browser presents, recognised or not (an
    /// expired access token still names its device), and forgets this mode's cookies if the
    /// browser holds any.
    async fn end(&self, presented: &Credentials) -> Result<CookieChanges, AppError>;

    /// Whether the server-side record behind `current`, recognised by this mode, is live.
    async fn is_live(&self, current: &CurrentUser) -> Result<bool, AppError>;

    // Listing and ending devices.

    /// The user's devices in this mode.
    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError>;

    /// Ends one of the user's devices, for `reason`; `Ok(None)` if they have no live one with
    /// that id.
    async fn kill(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<Killed>, AppError>;

    /// Ends all the user's devices in this mode except `keep`, for `reason` (what a JWT
    /// device's refresh will be told).
    async fn kill_all_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevocationReason,
    ) -> Result<Ended, AppError>;
}
