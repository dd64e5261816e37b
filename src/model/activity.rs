//! The activity log (`/activity`, `/api/activity`) and the account page's password change.

use serde::{Deserialize, Serialize};

use super::{Mode, Moment};

/// What happened to an account. Stored by [`ActivityKind::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    SignedIn,
    /// Wrong passwords for this account; one row counts those from one address in a row.
    SignInFailed,
    SignedOut,
    /// A device was signed out from another (or from itself, on the devices page).
    DeviceKilled,
    PasswordChanged,
    /// A spent refresh token came back: someone holds a copy, and the device's family is revoked.
    RefreshReuse,
    ModeSwitched,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 7] = [
        ActivityKind::SignedIn,
        ActivityKind::SignInFailed,
        ActivityKind::SignedOut,
        ActivityKind::DeviceKilled,
        ActivityKind::PasswordChanged,
        ActivityKind::RefreshReuse,
        ActivityKind::ModeSwitched,
    ];

    /// What the database stores.
    pub fn key(self) -> &'static str {
        match self {
            ActivityKind::SignedIn => "signed_in",
            ActivityKind::SignInFailed => "sign_in_failed",
            ActivityKind::SignedOut => "signed_out",
            ActivityKind::DeviceKilled => "device_killed",
            ActivityKind::PasswordChanged => "password_changed",
            ActivityKind::RefreshReuse => "refresh_reuse",
            ActivityKind::ModeSwitched => "mode_switched",
        }
    }

    pub fn from_key(key: &str) -> Option<ActivityKind> {
        Self::ALL.into_iter().find(|kind| kind.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::SignedIn => "Signed in",
            ActivityKind::SignInFailed => "Wrong password",
            ActivityKind::SignedOut => "Signed out",
            ActivityKind::DeviceKilled => "Device signed out",
            ActivityKind::PasswordChanged => "Password changed",
            ActivityKind::RefreshReuse => "Refresh-token reuse detected",
            ActivityKind::ModeSwitched => "Mode switched",
        }
    }
}

/// The facts particular to an entry's kind; each is absent when it does not apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityDetail {
    /// The device that did it (a kill, a password change), as the devices page names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_device: Option<String>,
    /// The public id of that device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_device_id: Option<String>,
    /// How many devices ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<u64>,
    /// Until when the last access token of an ended JWT device still works (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_valid_until: Option<i64>,
    /// The mode a switch went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_mode: Option<Mode>,
}

/// One entry of the log, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    pub id: i64,
    pub kind: ActivityKind,
    pub at: Moment,
    /// One sentence saying what happened.
    pub summary: String,
    /// The device it is about (its id on the devices page), when it is about one.
    pub device_id: Option<String>,
    pub mode: Option<Mode>,
    pub device: Option<String>,
    /// The client address of the request that caused it.
    pub ip: String,
    /// Failed sign-ins counted on this entry.
    pub count: i64,
    pub detail: ActivityDetail,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    /// 1-based.
    pub page: u32,
    pub has_more: bool,
    /// The device the page is limited to, if any.
    pub device_id: Option<String>,
}

/// The answer to a password change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordChanged {
    /// Other devices signed out, in both modes.
    pub ended: u64,
    /// Of those, the JWT devices' last access token stays valid until then: a JWT cannot be
    /// called back.
    pub access_valid_until: Option<Moment>,
}

/// The account page: the last password change, as the log has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub mode: Mode,
    pub created: Moment,
    pub last_password_change: Option<ActivityEntry>,
}
