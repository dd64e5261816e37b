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
    /// The device limit ended this device when another signed in.
    EndedByPolicy,
    /// An administrator acted on the account (signed devices out).
    AdminAction,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 9] = [
        ActivityKind::SignedIn,
        ActivityKind::SignInFailed,
        ActivityKind::SignedOut,
        ActivityKind::DeviceKilled,
        ActivityKind::PasswordChanged,
        ActivityKind::RefreshReuse,
        ActivityKind::ModeSwitched,
        ActivityKind::EndedByPolicy,
        ActivityKind::AdminAction,
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
            ActivityKind::EndedByPolicy => "ended_by_policy",
            ActivityKind::AdminAction => "admin_action",
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
            ActivityKind::EndedByPolicy => "Ended by the device limit",
            ActivityKind::AdminAction => "Administrator action",
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
    /// The account's device limit when it ended a device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// The reuse was the theft drill's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<bool>,
    /// The administrator who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_admin: Option<String>,
    /// The role an administrator gave the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// An account's role. Stored by [`Role::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn from_key(key: &str) -> Option<Role> {
        [Role::User, Role::Admin]
            .into_iter()
            .find(|role| role.key() == key)
    }
}

/// What changing an account's role did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleChange {
    pub username: String,
    pub role: Role,
    /// False when the account had that role already (nothing was written).
    pub changed: bool,
    pub reach: RoleReach,
}

/// When each of an account's devices goes by the role it has in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleReach {
    /// Cookie sessions: the stored role is rewritten with the change, so each goes by it
    /// from its next request.
    pub sessions: u64,
    /// Live JWT devices: an access token carries the `role` claim it was issued with; the
    /// next refresh reads the role from the database.
    pub jwt_devices: u64,
    /// Until when the last access token issued before the latest role change still says the
    /// old role (`pure` and `denylist`); `None` when this server reads the role with every
    /// request (`session-check`), or no such token is left.
    pub stale_claim_until: Option<Moment>,
    /// The longest a JWT device goes on with a stale claim: the access-token lifetime.
    pub access_ttl: String,
    pub revocation: super::Revocation,
}

/// One account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created: Moment,
    /// Live devices, both modes.
    pub devices: usize,
    pub last_activity: Option<Moment>,
}

/// One account as an administrator sees it: its devices and its activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created: Moment,
    /// When an administrator last changed the role, if ever.
    pub role_changed: Option<Moment>,
    pub reach: RoleReach,
    pub devices: Vec<super::DeviceView>,
    pub activity: ActivityPage,
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
    /// When the password was last changed, if ever (kept with the account).
    pub password_changed: Option<Moment>,
    /// The log's entry for that change, while the log still holds it.
    pub last_password_change: Option<ActivityEntry>,
    pub device_policy: DevicePolicy,
}

/// How many devices an account may be signed in on at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum DevicePolicy {
    Unlimited,
    /// Signing in anywhere ends every other device: the PC logged out when the phone logs in.
    OneDevice,
    /// At most `limit` (2 to 10) devices; a sign-in beyond it does `when_full`.
    AtMost {
        limit: u8,
        when_full: WhenFull,
    },
}

/// What a sign-in beyond the device limit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// The new sign-in is refused, with a message naming the limit.
    Refuse,
    /// The least recently active device ends.
    EndLeastRecent,
}

/// The limits "at most N" may take.
pub const DEVICE_LIMITS: std::ops::RangeInclusive<u8> = 2..=10;

impl WhenFull {
    pub fn key(self) -> &'static str {
        match self {
            WhenFull::Refuse => "refuse",
            WhenFull::EndLeastRecent => "end_least_recent",
        }
    }

    pub fn from_key(key: &str) -> Option<WhenFull> {
        [WhenFull::Refuse, WhenFull::EndLeastRecent]
            .into_iter()
            .find(|when_full| when_full.key() == key)
    }
}

impl DevicePolicy {
    /// How many devices may be signed in at once, if any limit.
    pub fn limit(self) -> Option<u8> {
        match self {
            DevicePolicy::Unlimited => None,
            DevicePolicy::OneDevice => Some(1),
            DevicePolicy::AtMost { limit, .. } => Some(limit),
        }
    }

    pub fn when_full(self) -> WhenFull {
        match self {
            DevicePolicy::AtMost { when_full, .. } => when_full,
            DevicePolicy::Unlimited | DevicePolicy::OneDevice => WhenFull::EndLeastRecent,
        }
    }

    /// As the database keeps it: the limit, and what happens beyond it.
    pub fn stored(self) -> (Option<i64>, &'static str) {
        (self.limit().map(i64::from), self.when_full().key())
    }

    /// What the database keeps, read back; anything out of range reads as no limit.
    pub fn from_stored(limit: Option<i64>, when_full: &str) -> DevicePolicy {
        let when_full = WhenFull::from_key(when_full).unwrap_or(WhenFull::EndLeastRecent);
        match limit.and_then(|limit| u8::try_from(limit).ok()) {
            Some(1) => DevicePolicy::OneDevice,
            Some(limit) if DEVICE_LIMITS.contains(&limit) => {
                DevicePolicy::AtMost { limit, when_full }
            }
            _ => DevicePolicy::Unlimited,
        }
    }

    /// In a sentence.
    pub fn describe(self) -> String {
        match self {
            DevicePolicy::Unlimited => "Any number of devices at once.".into(),
            DevicePolicy::OneDevice => {
                "One device: signing in anywhere signs every other device out.".into()
            }
            DevicePolicy::AtMost {
                limit,
                when_full: WhenFull::Refuse,
            } => format!("At most {limit} devices; a sign-in beyond that is refused."),
            DevicePolicy::AtMost {
                limit,
                when_full: WhenFull::EndLeastRecent,
            } => format!(
                "At most {limit} devices; a sign-in beyond that signs the least recently active \
                 one out."
            ),
        }
    }
}
