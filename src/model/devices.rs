//! The devices page: every place a user is signed in, and what a kill leaves behind.

use serde::{Deserialize, Serialize};

use super::{Lifetime, Mode, Moment};

/// One place a user is signed in: a session, or a refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeviceView {
    /// Opaque: never the session ID, the token, or a hash of either.
    pub id: String,
    pub mode: Mode,
    /// Browser and operating system, from the User-Agent.
    pub device: String,
    pub ip: String,
    pub created: Moment,
    pub last_active: Moment,
    /// When it ends unless used before: after its idle timeout, or at `ends_at_latest`.
    pub expires: Moment,
    /// Signed in with "Remember me" (a persistent cookie and the long lifetimes).
    pub remembered: bool,
    /// Its idle and absolute timeouts, in seconds, under this server's settings.
    pub lifetime: Lifetime,
    /// When it ends however busy it is: its absolute timeout after sign-in.
    pub ends_at_latest: Moment,
    pub is_current: bool,
    /// A JWT device whose refresh tokens are revoked but whose last access token still works.
    pub revoked: Option<Revoked>,
}

/// What is left of a killed JWT device: an access token nobody can take back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Revoked {
    pub reason: RevocationReason,
    /// Until when its last access token still gets in (`pure`); `None` when this server
    /// refuses it already (`session-check`, `denylist`).
    pub access_valid_until: Option<Moment>,
}

/// The answer to "sign this device out".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Killed {
    pub mode: Mode,
    /// For a JWT device: until when its current access token still gets in.
    pub access_valid_until: Option<Moment>,
}

/// Why a JWT device's refresh family was revoked. Stored by [`RevocationReason::key`]; the
/// devices page words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The device signed itself out.
    SignedOut,
    /// Another device of the user signed it out.
    Killed,
    /// A spent refresh token came back after the grace window: someone copied it.
    Reused,
    /// The compare page's kill drill (its devices are removed right after).
    KillDrill,
    /// The user changed their password: every other device ends.
    PasswordChanged,
    /// Another device signed in beyond the account's device limit, and this one was the least
    /// recently active.
    DevicePolicy,
    /// An administrator signed it out.
    Admin,
}

impl RevocationReason {
    const ALL: [RevocationReason; 7] = [
        RevocationReason::SignedOut,
        RevocationReason::Killed,
        RevocationReason::Reused,
        RevocationReason::KillDrill,
        RevocationReason::PasswordChanged,
        RevocationReason::DevicePolicy,
        RevocationReason::Admin,
    ];

    /// What the database stores.
    pub fn key(self) -> &'static str {
        match self {
            RevocationReason::SignedOut => "signed_out",
            RevocationReason::Killed => "killed",
            RevocationReason::Reused => "reused",
            RevocationReason::KillDrill => "kill_drill",
            RevocationReason::PasswordChanged => "password_changed",
            RevocationReason::DevicePolicy => "device_policy",
            RevocationReason::Admin => "admin",
        }
    }

    /// The stored key's reason, if it is one.
    pub fn from_key(key: &str) -> Option<RevocationReason> {
        Self::ALL.into_iter().find(|reason| reason.key() == key)
    }

    /// Why a device was signed out, as its owner is told: "you were signed out because ...".
    pub fn because(self) -> &'static str {
        match self {
            RevocationReason::SignedOut => "it signed out",
            RevocationReason::Killed => "another of your devices signed it out",
            RevocationReason::Reused => "its refresh token was used twice, so someone holds a copy",
            RevocationReason::KillDrill => "of the compare page's kill drill",
            RevocationReason::PasswordChanged => "the account's password was changed",
            RevocationReason::DevicePolicy => {
                "another device signed in, and the account allows only so many at once"
            }
            RevocationReason::Admin => "an administrator signed it out",
        }
    }

    /// The reason a stored text names. Rows written before reasons had keys hold the old
    /// English sentence; an unknown text reads as a kill, the safest thing to show.
    pub fn from_stored(text: &str) -> RevocationReason {
        Self::ALL
            .into_iter()
            .find(|reason| reason.key() == text)
            .unwrap_or(match text {
                "signed out" => RevocationReason::SignedOut,
                "refresh token reused" => RevocationReason::Reused,
                "kill drill" => RevocationReason::KillDrill,
                _ => RevocationReason::Killed,
            })
    }
}

/// What the theft drill showed: a spent refresh token replayed as a thief would, and what became
/// of the thief and of the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TheftDrillReport {
    /// The server's answer to the thief's replay.
    pub thief_refused: String,
    /// The server's answer to the owner's next refresh, with the token it had just been given.
    pub owner_refused: String,
    /// The grace window the drill skipped: a real replay within it gets the same successor.
    pub grace_seconds: i64,
    /// The thief's replay was caught as reuse, and the activity log says so.
    pub reuse_detected: bool,
    /// Until when this browser's access token still works (`pure`); `None` when this server
    /// refuses it at once (`session-check`, `denylist`).
    pub access_valid_until: Option<Moment>,
}
