//! The tamper playground: forgeries of your own credentials, and the server's verdict.

use serde::{Deserialize, Serialize};

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
