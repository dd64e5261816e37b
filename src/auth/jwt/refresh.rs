//! Refresh tokens: opaque random values whose SHA-256 the server keeps, in a family that stands
//! for one device. Every refresh swaps the token for a new one; a used token that comes back
//! after the grace window revokes the whole family (someone copied it).

use super::{JwtMode, claims::MAX_TOKEN_BYTES};
use crate::{
    core::{
        client::ClientInfo,
        ids::{fingerprint, new_public_id, random_token, sha256},
    },
    db::{NewFamily, Rotation, RotationOutcome, UserRecord},
    error::AppError,
    model::RevocationReason,
};

/// Marks our refresh tokens, so that a leaked one is recognisable (for secret scanners too).
const REFRESH_TOKEN_PREFIX: &str = "tbr_";
/// A device refreshes once per access-token lifetime; more than this in a minute is a loop.
pub const MAX_REFRESHES_PER_MINUTE: i64 = 20;
/// Tokens kept per family: the live tip, its parent (for the grace window), recent history;
/// more than a minute of refreshes at the limit, so that the limit can count them.
pub const KEPT_TOKENS_PER_FAMILY: i64 = 24;

/// What a sign-in or a refresh hands out. `Debug` shows the device and times, never a token.
#[derive(Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
    /// The family's public id, the `sid` of the access token.
    pub device_id: String,
    /// Signed in with "Remember me": persistent cookies, the long lifetimes.
    pub remembered: bool,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("device_id", &self.device_id)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a refresh token was not exchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    Missing,
    Unknown,
    Expired,
    /// The family was revoked, for this reason when one was stored.
    Revoked(Option<RevocationReason>),
    /// Used before, after the grace window: the family is revoked now.
    Reused,
    /// The device refreshed too often lately; it stays signed in.
    TooFrequent {
        retry_after: i64,
    },
}

impl RefreshRefusal {
    /// Whether the device is signed out by it (every refusal but a rate limit).
    pub fn signs_out(self) -> bool {
        !matches!(self, RefreshRefusal::TooFrequent { .. })
    }

    /// The API's error for it.
    pub fn into_error(self) -> AppError {
        let reason = match self {
            RefreshRefusal::Missing => "no refresh token",
            RefreshRefusal::Unknown => "unknown refresh token",
            RefreshRefusal::Expired => "the refresh token has expired",
            RefreshRefusal::Revoked(Some(reason)) => {
                return AppError::RefreshRefused {
                    reason: format!("this device was signed out because {}", reason.because()),
                };
            }
            RefreshRefusal::Revoked(None) => "this device was signed out",
            RefreshRefusal::Reused => {
                "the refresh token was already used: this device is signed out for safety"
            }
            RefreshRefusal::TooFrequent { retry_after } => {
                return AppError::TooManyRequests { retry_after };
            }
        };
        AppError::RefreshRefused {
            reason: reason.into(),
        }
    }
}

/// SHA-256 of a refresh token: what the database keeps.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    sha256(token.as_bytes())
}

fn new_refresh_token() -> String {
    format!("{REFRESH_TOKEN_PREFIX}{}", random_token(32))
}

impl JwtMode {
    /// Starts a family for a new sign-in, remembered or not: a first refresh token and an
    /// access token.
    pub async fn start(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
        remembered: bool,
    ) -> Result<TokenPair, AppError> {
        let now = self.clock.now();
        let device_id = new_public_id();
        let refresh_token = new_refresh_token();
        let refresh_expires_at = self.lifetimes.of(remembered).ends_at(now, now);
        let access_jti = random_token(16);
        let (access_token, access_expires_at) =
            self.tokens
                .sign(user, &device_id, access_jti.clone(), now)?;
        self.db
            .insert_family(&NewFamily {
                public_id: &device_id,
                user_id: user.id,
                device: &client.device,
                ip: &client.ip,
                now,
                token_hash: &hash_refresh_token(&refresh_token),
                token_expires_at: refresh_expires_at,
                access_jti: &access_jti,
                access_expires_at,
                remembered,
            })
            .await?;
        Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            device_id,
            remembered,
        })
    }

    /// Exchanges a refresh token for a new pair.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        self.refresh_within(refresh_token, client, self.grace).await
    }

    /// What a thief gets for a spent refresh token, as if the grace window were already over
    /// (the theft drill cannot wait for it): the family is revoked.
    pub async fn replay_without_grace(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        self.refresh_within(refresh_token, client, -1).await
    }

    /// [`Self::refresh`] with a spent token forgiven for `grace` seconds.
    async fn refresh_within(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
        grace: i64,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        if refresh_token.is_empty() {
            return Ok(Err(RefreshRefusal::Missing));
        }
        if refresh_token.len() > MAX_TOKEN_BYTES {
            return Ok(Err(RefreshRefusal::Unknown));
        }
        let now = self.clock.now();
        // Derived from the presented token: every exchange of it within the grace window gets
        // this same successor (RFC 9700 §4.14.2: no sibling chains).
        let new_token = format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            self.tokens.keys().successor_of(refresh_token)
        );
        // The access token's id is chosen first, so that it is stored with the rotation.
        let access_jti = random_token(16);
        let outcome = self
            .db
            .rotate_refresh_token(&Rotation {
                presented_hash: &hash_refresh_token(refresh_token),
                new_hash: &hash_refresh_token(&new_token),
                access_jti: &access_jti,
                ip: &client.ip,
                now,
                grace,
                lifetimes: self.lifetimes,
                access_ttl: self.tokens.ttl(),
                max_per_minute: MAX_REFRESHES_PER_MINUTE,
                kept_per_family: KEPT_TOKENS_PER_FAMILY,
            })
            .await?;
        let (family, refresh_expires_at, issued_at, access_jti) = match outcome {
            RotationOutcome::Rotated {
                family,
                token_expires_at,
                issued_at,
                access_jti,
                ..
            } => (family, token_expires_at, issued_at, access_jti),
            RotationOutcome::TooFrequent { retry_after } => {
                return Ok(Err(RefreshRefusal::TooFrequent { retry_after }));
            }
            RotationOutcome::Unknown => return Ok(Err(RefreshRefusal::Unknown)),
            RotationOutcome::Expired => return Ok(Err(RefreshRefusal::Expired)),
            RotationOutcome::Revoked { reason } => {
                let reason = reason.as_deref().map(RevocationReason::from_stored);
                return Ok(Err(RefreshRefusal::Revoked(reason)));
            }
            RotationOutcome::Reused { family_id } => {
                tracing::warn!(
                    device = %fingerprint(refresh_token.as_bytes(), 4),
                    "a used refresh token came back: its family is revoked"
                );
                self.after_revoking([family_id]).await?;
                return Ok(Err(RefreshRefusal::Reused));
            }
        };
        let Some(user) = self.db.user_by_id(family.user_id).await? else {
            return Ok(Err(RefreshRefusal::Revoked(None)));
        };
        // Signed as at the successor's issue: within the grace window every caller gets the
        // very access token issued with it (HS256 is deterministic), whose jti a kill denies.
        let (access_token, access_expires_at) =
            self.tokens
                .sign(&user, &family.public_id, access_jti, issued_at)?;
        Ok(Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token: new_token,
            refresh_expires_at,
            device_id: family.public_id,
            remembered: family.remembered,
        }))
    }
}
