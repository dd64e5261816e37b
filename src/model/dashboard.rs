//! The dashboard: how the server recognised the request that rendered it, and what that cost.

use serde::{Deserialize, Serialize};

use super::{DeviceView, Moment, Revocation, SessionStoreKind, Viewer};

/// What recognising one request cost the server.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecognitionCost {
    /// Time spent recognising the request, in microseconds.
    pub micros: f64,
    /// Database queries that took.
    pub queries: u32,
    /// Bytes of credentials the browser sent: credential cookies and the Authorization header.
    pub credential_bytes: usize,
}

/// How the server recognised the request that rendered the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecognitionReport {
    pub viewer: Viewer,
    /// What recognising the request that asked for this report cost.
    pub cost: RecognitionCost,
    /// The server's clock when it answered: the countdown starts from it.
    pub server_now: i64,
    /// The server-side record of this device: the session row, or the refresh family.
    pub device: DeviceView,
    pub evidence: Evidence,
}

/// What the browser presented, mode by mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    Session(SessionEvidence),
    Jwt(JwtEvidence),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvidence {
    /// The cookie the browser sent, as the server received it.
    pub cookie_name: String,
    pub cookie_bytes: usize,
    /// A short fingerprint of the session ID's hash: enough to tell sessions apart, useless to
    /// ride one.
    pub fingerprint: String,
    /// Idle time after which the session ends, and the hard limit after sign-in.
    pub idle_timeout: String,
    pub absolute_expiry: Moment,
    /// Seconds the cookie has left, as the server last set it (`Max-Age`); none for a
    /// browser-session cookie (signed in without "Remember me").
    pub max_age: Option<i64>,
    /// Whether the cookie is `Secure` (the public URL is https).
    pub secure: bool,
    pub store: SessionStoreKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtEvidence {
    pub carried_in: CarriedIn,
    pub token_bytes: usize,
    /// The decoded header and claims.
    pub header: Vec<ClaimView>,
    pub claims: Vec<ClaimView>,
    /// The first characters of each part: the token is never shown whole.
    pub header_start: String,
    pub payload_start: String,
    pub signature_start: String,
    pub expires: Moment,
    pub access_ttl: String,
    pub refresh_ttl: String,
    /// The refresh family's tokens, oldest first.
    pub history: Vec<RotationView>,
    pub revocation: Revocation,
}

/// Where the request carried its access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarriedIn {
    /// The HttpOnly access cookie of this name: a browser.
    Cookie { name: String },
    /// `Authorization: Bearer`: a script.
    AuthorizationHeader,
}

/// One refresh token of a family: when it was issued, to which IP, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationView {
    pub issued: Moment,
    pub ip: String,
    /// The family's first token (issued at sign-in), or one issued by a refresh.
    pub at_sign_in: bool,
    pub status: TokenStatus,
}

/// What became of a refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// The one the browser holds now.
    Current,
    /// Exchanged for its successor.
    Used {
        at: Moment,
    },
    Revoked {
        at: Moment,
    },
    Expired,
}

/// One header field or claim of a JWT, as the token carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimView {
    pub name: String,
    pub value: String,
    /// For a time claim (`iat`, `exp`): the moment it names.
    pub at: Option<Moment>,
}
