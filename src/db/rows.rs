//! The rows the database hands out and takes, the same whichever database holds them.

use std::fmt;

use crate::model::Lifetimes;

// Accounts.

/// A row of `users`. Its `Debug` leaves the password hash out.
#[derive(Clone)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    /// When the password was last changed (not when it was only rehashed), if ever.
    pub password_changed_at: Option<i64>,
}

/// An account as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserOverview {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created_at: i64,
    pub last_activity: Option<i64>,
}

/// What [`set_role`](super::Db::set_role) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleUpdate {
    Changed,
    /// The account had that role already.
    Unchanged,
    /// It is the last administrator: it stays one.
    LastAdmin,
    NoSuchUser,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("role", &self.role)
            .finish()
    }
}

// Cookie sessions.

/// A session as the devices page and the dashboard see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub public_id: String,
    pub user_id: i64,
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// Signed in with "Remember me": the long lifetimes and a persistent cookie.
    pub remembered: bool,
}

/// A table's rows and the bytes it and its indexes take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableFootprint {
    pub rows: i64,
    pub bytes: i64,
}

/// What a later save may change in a session: never its owner, its ID or its device.
#[derive(Clone, Debug)]
pub struct SessionRowUpdate<'a> {
    pub ip: &'a str,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub data: &'a str,
    /// Where the role sits in `data`, key by key: the stored role is kept, since only an
    /// administrator's change ([`set_role_in_sessions_of_user`](super::Db::set_role_in_sessions_of_user)) writes it.
    pub role_path: &'a [&'a str],
}

// JWT mode: refresh-token families and their tokens.

/// A refresh-token family: one device signed in with JWTs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyRow {
    pub id: i64,
    pub public_id: String,
    pub user_id: i64,
    pub device: String,
    pub ip: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub access_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// Signed in with "Remember me": the long lifetimes.
    pub remembered: bool,
}

/// One token of a family, for its rotation history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub ip: String,
    pub is_first: bool,
}

/// A family to start at sign-in, with its first token.
pub struct NewFamily<'a> {
    pub public_id: &'a str,
    pub user_id: i64,
    pub device: &'a str,
    pub ip: &'a str,
    pub now: i64,
    pub token_hash: &'a [u8],
    pub token_expires_at: i64,
    pub access_jti: &'a str,
    pub access_expires_at: i64,
    pub remembered: bool,
}

/// An exchange of a presented refresh token for its successor.
pub struct Rotation<'a> {
    pub presented_hash: &'a [u8],
    /// The successor's hash: the same for every exchange of the same token.
    pub new_hash: &'a [u8],
    /// The access token that goes with the new refresh token.
    pub access_jti: &'a str,
    pub ip: &'a str,
    pub now: i64,
    /// A token used this many seconds ago or less may be exchanged again (two tabs at once).
    pub grace: i64,
    /// How long a family lives unused (a refresh token's lifetime) and at most, with
    /// "Remember me" and without.
    pub lifetimes: Lifetimes,
    pub access_ttl: i64,
    /// At most this many exchanges per family within a minute.
    pub max_per_minute: i64,
    /// A family keeps at most this many tokens: older spent ones are deleted.
    pub kept_per_family: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The successor is stored (or was, by an exchange within the grace window); the family as
    /// it now stands.
    Rotated {
        family: FamilyRow,
        token_expires_at: i64,
        /// When the successor was issued, and the id of the access token issued with it: an
        /// exchange within the grace window re-issues that same access token.
        issued_at: i64,
        access_jti: String,
        within_grace: bool,
    },
    /// The family was exchanged too often lately: try again in this many seconds.
    TooFrequent {
        retry_after: i64,
    },
    Unknown,
    Expired,
    /// The family was revoked earlier (sign-out, kill, reuse...), for the reason stored.
    Revoked {
        reason: Option<String>,
    },
    /// An already-used token came back after the grace window: the family is revoked now.
    Reused {
        family_id: i64,
    },
}

// The JWT key ring, when the database keeps it.

/// A signing key as stored: its secret sealed. Its `Debug` leaves the sealed bytes out.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub sealed: Vec<u8>,
    pub created_at: i64,
    pub signs_from: i64,
    pub retires_at: Option<i64>,
}

impl fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("signs_from", &self.signs_from)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

// The activity log.

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub device_id: Option<String>,
    pub mode: Option<String>,
    pub device: Option<String>,
    pub ip: String,
    pub count: i64,
    pub detail: String,
}

/// An entry to write.
#[derive(Clone, Debug)]
pub struct NewActivity<'a> {
    pub user_id: i64,
    pub at: i64,
    pub kind: &'static str,
    pub device_id: Option<&'a str>,
    pub mode: Option<&'static str>,
    pub device: Option<&'a str>,
    pub ip: &'a str,
    pub detail: &'a str,
}
