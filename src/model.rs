//! Values that travel between the server and the browser.
//!
//! Times are formatted on the server so that the server-rendered page and the hydrated page
//! show the same text.

use serde::{Deserialize, Serialize};

/// How the server recognises a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A session-ID cookie pointing at a row the server keeps.
    Session,
    /// A signed access token checked by signature, and a rotating refresh token.
    Jwt,
}

impl Mode {
    /// Stable name for forms, CSS and tests.
    pub fn key(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Jwt => "jwt",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Session => "cookie session",
            Mode::Jwt => "JWT",
        }
    }

    pub fn other(self) -> Mode {
        match self {
            Mode::Session => Mode::Jwt,
            Mode::Jwt => Mode::Session,
        }
    }

    pub fn from_key(key: &str) -> Option<Mode> {
        [Mode::Session, Mode::Jwt]
            .into_iter()
            .find(|mode| mode.key() == key)
    }
}

/// How far a JWT server goes to make a kill take effect before the access token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// Signature only: a killed device keeps working until its token's `exp`.
    Pure,
    /// Every request also reads the token's refresh family (`sid`): kills are instant, one
    /// indexed read per request.
    SessionCheck,
    /// Revoked `jti`s are kept in memory until their `exp`: instant on this server, no read.
    Denylist,
}

impl Revocation {
    pub const ALL: [Revocation; 3] = [
        Revocation::Pure,
        Revocation::SessionCheck,
        Revocation::Denylist,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Revocation::Pure => "pure",
            Revocation::SessionCheck => "session-check",
            Revocation::Denylist => "denylist",
        }
    }

    pub fn from_key(key: &str) -> Option<Revocation> {
        Self::ALL.into_iter().find(|setting| setting.key() == key)
    }
}

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

/// Live figures for one way of recognising requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostColumn {
    /// `session`, `jwt-pure`, `jwt-session-check`, `jwt-denylist`
    pub key: String,
    pub label: String,
    pub requests: usize,
    pub median_micros: f64,
    pub p99_micros: f64,
    pub queries_per_request: f64,
    pub bytes_per_request: f64,
    /// When a kill from the devices page stops this device, as measured by the last kill drill.
    pub kill_takes_effect: String,
    /// What the server holds in memory for it.
    pub memory: String,
}

/// The compare page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub columns: Vec<CostColumn>,
    /// This server's revocation setting and session store.
    pub revocation: Revocation,
    pub session_store: SessionStoreKind,
    pub access_ttl: String,
    pub max_burst: u32,
}

/// Where the server keeps cookie sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStoreKind {
    /// The drawer: a table in SQLite; sessions survive a restart.
    Sqlite,
    /// The desk: this process's memory; a restart signs every cookie-session user out.
    Memory,
}

impl SessionStoreKind {
    pub fn label(self) -> &'static str {
        match self {
            SessionStoreKind::Sqlite => "SQLite (the drawer: sessions survive a restart)",
            SessionStoreKind::Memory => {
                "memory (the desk: a restart signs every cookie-session user out)"
            }
        }
    }
}

/// The signed-in user as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub username: String,
    pub mode: Mode,
}

/// A point in time, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub unix: i64,
    /// `2026-11-23 14:05 UTC`
    pub utc: String,
    /// `3 minutes ago`, `in 14 days`
    pub relative: String,
}

/// One place a user is signed in: a session, or a refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    /// Opaque: never the session ID, the token, or a hash of either.
    pub id: String,
    pub mode: Mode,
    /// Browser and operating system, from the User-Agent.
    pub device: String,
    pub ip: String,
    pub created: Moment,
    pub last_active: Moment,
    pub expires: Moment,
    pub is_current: bool,
    /// A JWT device whose refresh tokens are revoked but whose last access token still works.
    pub revoked: Option<Revoked>,
}

/// What is left of a killed JWT device: an access token nobody can take back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub reason: String,
    pub access_valid_until: Moment,
}

/// The answer to "sign this device out".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Killed {
    pub mode: Mode,
    /// For a JWT device: until when its current access token still gets in.
    pub access_valid_until: Option<Moment>,
}

/// How the server recognised the request that rendered the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecognitionReport {
    pub viewer: Viewer,
    /// What recognising the request that asked for this report cost.
    pub cost: Option<RecognitionCost>,
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
    /// The cookie as the server sets it: each attribute and what it does.
    pub attributes: Vec<ClaimView>,
    pub store: SessionStoreKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtEvidence {
    /// `cookie tb_access` or `Authorization header`
    pub carried_in: String,
    pub token_bytes: usize,
    /// The decoded header and claims, each with what it means.
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

/// One refresh token of a family: when it was issued, to which IP, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationView {
    pub issued: Moment,
    pub ip: String,
    /// `sign-in` or `rotation`
    pub kind: String,
    /// `in use`, `used <when>`, `revoked <when>`, `expired`
    pub status: String,
}

/// What the playground does to the signature of an edited token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEdit {
    /// The token's own signature (it signed the original header and payload).
    Keep,
    /// One character changed.
    FlipOne,
    /// No signature at all.
    Remove,
}

/// Ready-made forgeries for the playground.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPreset {
    /// The control: the token as it is (accepted, and still grants nothing here).
    Unchanged,
    MakeAdmin,
    FiftyYears,
    AlgNone,
    Hs384,
    UnknownKid,
    FlipSignature,
    DropSid,
    Expired,
}

impl TokenPreset {
    pub const ALL: [TokenPreset; 9] = [
        TokenPreset::MakeAdmin,
        TokenPreset::FiftyYears,
        TokenPreset::AlgNone,
        TokenPreset::Hs384,
        TokenPreset::UnknownKid,
        TokenPreset::FlipSignature,
        TokenPreset::DropSid,
        TokenPreset::Expired,
        TokenPreset::Unchanged,
    ];

    pub fn key(self) -> &'static str {
        match self {
            TokenPreset::Unchanged => "unchanged",
            TokenPreset::MakeAdmin => "make_admin",
            TokenPreset::FiftyYears => "fifty_years",
            TokenPreset::AlgNone => "alg_none",
            TokenPreset::Hs384 => "hs384",
            TokenPreset::UnknownKid => "unknown_kid",
            TokenPreset::FlipSignature => "flip_signature",
            TokenPreset::DropSid => "drop_sid",
            TokenPreset::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenPreset::Unchanged => "send it unchanged",
            TokenPreset::MakeAdmin => "make me admin",
            TokenPreset::FiftyYears => "exp 50 years out",
            TokenPreset::AlgNone => "alg: none",
            TokenPreset::Hs384 => "alg: HS384",
            TokenPreset::UnknownKid => "unknown kid",
            TokenPreset::FlipSignature => "change one signature character",
            TokenPreset::DropSid => "drop the sid claim",
            TokenPreset::Expired => "exp a minute ago",
        }
    }
}

/// Session IDs the playground can present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionProbe {
    /// A well-formed ID nobody was ever given.
    Random,
    /// The ID of a session that was signed out a moment ago.
    Killed,
    /// Not a session ID at all.
    Malformed,
}

/// What the tamper playground's server said about an edited credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub accepted: bool,
    /// A stable name of the reason (`bad_signature`, `algorithm_not_allowed`, ...).
    pub code: String,
    pub reason: String,
}

/// The playground's starting point: the caller's own access token, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenParts {
    pub header: String,
    pub payload: String,
    pub signature_start: String,
}

/// One header field or claim of a JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimView {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

/// `14 days`, `5 minutes`, `90 seconds`: the largest unit that states `seconds` exactly.
pub fn describe_seconds(seconds: i64) -> String {
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds != 0 && seconds % size == 0)
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    plural(count, unit)
}

fn plural(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

#[cfg(feature = "ssr")]
impl Moment {
    /// `unix` as seen at `now`.
    pub fn at(unix: i64, now: i64) -> Self {
        let utc = time::OffsetDateTime::from_unix_timestamp(unix)
            .map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_else(|_| unix.to_string());
        Moment {
            unix,
            utc,
            relative: relative(unix - now),
        }
    }
}

/// `3 minutes ago`, `in 14 days`, `just now`: the largest unit, rounded to the nearest.
#[cfg(feature = "ssr")]
fn relative(delta: i64) -> String {
    let size = delta.unsigned_abs() as i64;
    if size < 10 {
        return "just now".into();
    }
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(unit_size, _)| size >= *unit_size)
        .map_or((size, "second"), |(unit_size, unit)| {
            ((size + unit_size / 2) / unit_size, unit)
        });
    if delta < 0 {
        format!("{} ago", plural(count, unit))
    } else {
        format!("in {}", plural(count, unit))
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn moments_read_naturally() {
        let now = 1_800_000_000;
        assert_eq!(Moment::at(now, now).relative, "just now");
        assert_eq!(Moment::at(now - 180, now).relative, "3 minutes ago");
        assert_eq!(Moment::at(now + 14 * 86_400, now).relative, "in 14 days");
        assert_eq!(
            Moment::at(now + 14 * 86_400 - 5, now).relative,
            "in 14 days"
        );
        assert_eq!(Moment::at(now - 3_600, now).relative, "1 hour ago");
        assert_eq!(Moment::at(0, now).utc, "1970-01-01 00:00 UTC");
    }

    #[test]
    fn durations_use_their_largest_exact_unit() {
        assert_eq!(describe_seconds(14 * 86_400), "14 days");
        assert_eq!(describe_seconds(300), "5 minutes");
        assert_eq!(describe_seconds(90), "90 seconds");
        assert_eq!(describe_seconds(3_600), "1 hour");
    }
}
