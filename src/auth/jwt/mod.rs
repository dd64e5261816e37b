//! JWT mode: a short-lived signed access token, and a long-lived refresh token that rotates.
//!
//! The access token is checked by signature alone ([`claims`]): no database read per request,
//! and no way to take it back before it expires, unless the revocation setting adds a check
//! ([`revocation`]). The refresh token ([`refresh`]) is an opaque random value whose SHA-256 the
//! server keeps, in a family that stands for one device. Killing a device revokes its family:
//! its next refresh fails, its current access token lives until `exp`.
//!
//! Browsers carry both tokens in HttpOnly cookies ([`cookies`]); scripts and curl send
//! `Authorization: Bearer`.

pub mod broadcast;
pub mod claims;
pub mod cookies;
pub mod keys;
pub mod refresh;
pub mod revocation;
pub mod shared_keys;

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AuthMode,
    cookies::CookieChanges,
    credentials::Credentials,
    mode::{Ended, Issued},
    user::{CurrentUser, Device, Recognised},
};
use crate::{
    core::{
        client::ClientInfo,
        clock::Clock,
        config::{Config, CookieNames},
    },
    db::{Db, FamilyRow, TokenRow, UserRecord},
    error::AppError,
    model::{Killed, Lifetimes, Mode, Moment, Revocation, RevocationReason},
};
use broadcast::DenylistBroadcast;
use claims::AccessTokens;
use keys::{KeyError, KeyRing};
use revocation::Denylist;
use shared_keys::DatabaseRing;

/// Why the denylist could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("restoring the denylist: {0}")]
    Restore(#[from] AppError),
    #[error("REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
}

/// How this server's JWTs are set up, for the dashboard and the compare page.
#[derive(Clone, Copy, Debug)]
pub struct JwtSettings {
    pub access_ttl: i64,
    /// How long a family lives unused (a refresh token's lifetime) and at most, with
    /// "Remember me" and without.
    pub lifetimes: Lifetimes,
    pub revocation: Revocation,
    pub cookie_names: CookieNames,
}

/// Refused copies of a valid token, for the playground ([`JwtMode::refused_copy`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusedCopy {
    /// `exp` a minute ago.
    Expired,
    /// No `sid` claim.
    WithoutSid,
}

pub struct JwtMode {
    db: Db,
    clock: Clock,
    tokens: AccessTokens,
    revocation: Revocation,
    /// Shared with the task that hears other servers' denials.
    denylist: Arc<Denylist>,
    /// Tells other servers of this one's denials, when `REDIS_URL` is set.
    broadcast: Option<DenylistBroadcast>,
    /// The key ring in the database, when the keys are kept there.
    shared_keys: Option<Arc<DatabaseRing>>,
    lifetimes: Lifetimes,
    grace: i64,
    cookie_names: CookieNames,
    secure: bool,
}

impl JwtMode {
    pub fn new(db: Db, clock: Clock, config: &Config, keys: KeyRing) -> Self {
        JwtMode {
            db,
            clock,
            tokens: AccessTokens::new(keys, &config.public_origin, config.access_token_ttl),
            revocation: config.jwt_revocation,
            denylist: Arc::default(),
            broadcast: None,
            shared_keys: None,
            lifetimes: config.refresh_lifetimes(),
            grace: config.refresh_reuse_grace,
            cookie_names: config.cookie_names(),
            secure: config.secure_cookies(),
        }
    }

    /// Fills the denylist from the database (the tokens of revoked families that have not
    /// expired), so that a restart forgets no kill; then, with a Redis at `redis_url`, hears
    /// every other server's kills as they happen. Returns how many tokens were restored.
    pub async fn start_denylist(&mut self, redis_url: Option<&str>) -> Result<usize, StartError> {
        let restored = broadcast::restore(&self.denylist, &self.db, &self.clock).await?;
        if let Some(url) = redis_url {
            self.broadcast = Some(DenylistBroadcast::start(
                url,
                Arc::clone(&self.denylist),
                self.db.clone(),
                self.clock.clone(),
            )?);
        }
        Ok(restored)
    }

    /// The current key and the decoding rules (see [`AccessTokens::decoding`]).
    pub fn decoding(
        &self,
        now: i64,
    ) -> Option<(jsonwebtoken::DecodingKey, jsonwebtoken::Validation)> {
        self.tokens.decoding(now)
    }

    /// Signs and verifies with the key ring in the database from now on, reading it again
    /// every few seconds for as long as this server runs.
    pub fn keep_keys_from(&mut self, ring: DatabaseRing) {
        let ring = Arc::new(ring);
        shared_keys::keep_reading(
            Arc::clone(&ring),
            Arc::downgrade(self.tokens.ring_cell()),
            self.clock.clone(),
        );
        self.shared_keys = Some(ring);
    }

    /// Reads the database's key ring now, as the periodic reading does; `Ok(false)` when the
    /// keys come from elsewhere.
    pub async fn read_keys_again(&self) -> Result<bool, KeyError> {
        let Some(ring) = &self.shared_keys else {
            return Ok(false);
        };
        ring.read_into(self.tokens.ring_cell(), self.clock.now())
            .await?;
        Ok(true)
    }

    /// Rotates the database's key ring (see [`DatabaseRing::rotate`]); `Ok(None)` when the
    /// keys come from elsewhere.
    pub async fn rotate_shared_keys(&self, keep_old_for: i64) -> Result<Option<String>, KeyError> {
        match &self.shared_keys {
            Some(ring) => ring.rotate(self.clock.now(), keep_old_for).await.map(Some),
            None => Ok(None),
        }
    }

    /// Whether this server signed `token`, expired or not.
    /// When an access token this server signed expires, whether or not it has.
    pub fn expiry_of(&self, token: &str) -> Option<i64> {
        self.tokens
            .verify_signed(token, self.clock.now())
            .ok()
            .map(|claims| claims.exp)
    }

    /// Until when a revoked family's last access token still gets in: its expiry under
    /// `pure`; under `session-check` and `denylist` it is refused at once, so nothing.
    pub fn access_tail(&self, access_expires_at: i64) -> Option<i64> {
        (self.revocation == Revocation::Pure && access_expires_at > self.clock.now())
            .then_some(access_expires_at)
    }

    /// How many live families `user_id` has, and until when the last of their access tokens
    /// issued at or before `issued_by` lives: its claims (the role) are as old as it.
    pub async fn claims_issued_by(
        &self,
        user_id: i64,
        issued_by: i64,
    ) -> Result<(u64, Option<i64>), AppError> {
        let (families, latest) = self
            .db
            .claims_issued_by(user_id, issued_by, self.clock.now())
            .await?;
        Ok((u64::try_from(families).unwrap_or_default(), latest))
    }

    /// The public keys that verify this server's tokens now, as a JWK Set.
    pub fn jwks(&self) -> serde_json::Value {
        self.tokens.keys().jwks(self.clock.now())
    }

    /// Seconds a spent refresh token may come back and get the same successor.
    pub fn grace(&self) -> i64 {
        self.grace
    }

    /// The user (`sub`) and device (`sid`) an access token this server signed names, expired
    /// or not.
    pub fn signed_here(&self, token: &str) -> Result<(Option<i64>, String), super::Refusal> {
        self.tokens
            .verify_signed(token, self.clock.now())
            .map(|claims| (claims.sub.parse().ok(), claims.sid))
    }

    pub fn settings(&self) -> JwtSettings {
        JwtSettings {
            access_ttl: self.tokens.ttl(),
            lifetimes: self.lifetimes,
            revocation: self.revocation,
            cookie_names: self.cookie_names,
        }
    }

    pub fn denylist(&self) -> &Denylist {
        &self.denylist
    }

    /// Recognises the access token `presented` carries, with the revocation `setting` (the
    /// server's own, or each in turn for the compare page's measurements).
    async fn recognise_with(
        &self,
        presented: &Credentials,
        setting: Revocation,
    ) -> Result<Recognised, AppError> {
        let token = match presented.access_token() {
            None => return Ok(Recognised::Absent),
            Some(Err(refusal)) => return Ok(Recognised::Refused(refusal)),
            Some(Ok((token, _))) => token,
        };
        let claims = match self.tokens.verify(token, self.clock.now()) {
            Ok(claims) => claims,
            Err(refusal) => return Ok(Recognised::Refused(refusal)),
        };
        let role_now = match self.check_revocation(&claims, setting).await? {
            Ok(role_now) => role_now,
            Err(refusal) => return Ok(Recognised::Refused(refusal)),
        };
        Ok(Recognised::User(CurrentUser {
            user_id: claims.sub.parse().unwrap_or_default(),
            username: claims.name,
            role: role_now.unwrap_or(claims.role),
            mode: Mode::Jwt,
            device_id: claims.sid,
        }))
    }

    /// A copy of one of our own valid access tokens, genuinely signed, that recognition must
    /// still refuse: the playground shows the checks that stand behind the signature. Only
    /// copies that are refused are ever made, and they never leave the server.
    pub fn refused_copy(&self, token: &str, copy: RefusedCopy) -> Result<String, AppError> {
        let now = self.clock.now();
        let mut claims =
            self.tokens
                .verify(token, now)
                .map_err(|refusal| AppError::BadRequest {
                    reason: format!("your own access token is refused: {refusal}"),
                })?;
        match copy {
            RefusedCopy::Expired => {
                claims.exp = now - 60;
                claims.iat = claims.exp - self.tokens.ttl();
                self.tokens.sign_claims(&claims)
            }
            RefusedCopy::WithoutSid => {
                let mut object = serde_json::to_value(&claims).unwrap_or_default();
                if let Some(object) = object.as_object_mut() {
                    object.remove("sid");
                }
                self.tokens.sign_claims(&object)
            }
        }
    }

    /// The current user's family (this device) and its tokens, oldest first.
    pub async fn family_of(
        &self,
        current: &CurrentUser,
    ) -> Result<Option<(Device, Vec<TokenRow>)>, AppError> {
        let Some(family) = self
            .db
            .family(&current.device_id)
            .await?
            .filter(|family| family.user_id == current.user_id)
        else {
            return Ok(None);
        };
        let tokens = self.db.tokens_of_family(family.id).await?;
        Ok(Some((self.family_device(family, self.clock.now()), tokens)))
    }

    /// Revokes one of the user's families; the family as it now stands, if they had it.
    pub async fn revoke(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<FamilyRow>, AppError> {
        let revoked = self
            .db
            .revoke_family_of_user(user_id, device_id, reason, self.clock.now())
            .await?;
        self.after_revoking(revoked.as_ref().map(|family| family.id))
            .await?;
        Ok(revoked)
    }

    /// Removes a family and its tokens without a trace (the compare page's load devices).
    pub async fn delete_family(&self, device_id: &str) -> Result<bool, AppError> {
        Ok(self.db.delete_family(device_id).await?)
    }

    fn family_device(&self, row: FamilyRow, now: i64) -> Device {
        let revoked = row.revoked_at.map(|_| {
            (
                RevocationReason::from_stored(row.revoked_reason.as_deref().unwrap_or_default()),
                self.access_tail(row.access_expires_at),
            )
        });
        let lifetime = self.lifetimes.of(row.remembered);
        Device {
            expires_at: if revoked.is_some() {
                row.access_expires_at
            } else {
                // Today's lifetime may end it sooner than its refresh token's stored expiry.
                row.expires_at
                    .min(lifetime.ends_at(row.created_at, row.last_used_at))
            },
            id: row.public_id,
            mode: Mode::Jwt,
            device: row.device,
            ip: row.ip,
            created_at: row.created_at,
            last_seen_at: row.last_used_at,
            remembered: row.remembered,
            lifetime,
            // Listed while its last access token would have worked: under `pure` it still does.
            revoked: revoked.filter(|_| row.access_expires_at > now),
        }
    }
}

impl JwtMode {
    /// The family a refresh token belongs to, whatever became of either.
    pub async fn family_of_refresh_token(
        &self,
        refresh_token: &str,
    ) -> Result<Option<FamilyRow>, AppError> {
        if refresh_token.is_empty() || refresh_token.len() > claims::MAX_TOKEN_BYTES {
            return Ok(None);
        }
        let hash = refresh::hash_refresh_token(refresh_token);
        let Some((_, public_id)) = self.db.family_of_refresh_token(&hash).await? else {
            return Ok(None);
        };
        Ok(self.db.family(&public_id).await?)
    }
}

#[async_trait]
impl AuthMode for JwtMode {
    fn mode(&self) -> Mode {
        Mode::Jwt
    }

    async fn recognise(
        &self,
        presented: &Credentials,
        _client: &ClientInfo,
        revocation: Revocation,
    ) -> Result<(Recognised, CookieChanges), AppError> {
        let recognised = self.recognise_with(presented, revocation).await?;
        Ok((recognised, CookieChanges::none()))
    }

    async fn issue(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
        remembered: bool,
    ) -> Result<Issued, AppError> {
        let pair = self.start(user, client, remembered).await?;
        Ok(Issued {
            cookies: self.cookies_for(&pair),
            device_id: pair.device_id,
        })
    }

    async fn end(&self, presented: &Credentials) -> Result<CookieChanges, AppError> {
        let now = self.clock.now();
        // The device an access token names, expired or not, if this server signed it.
        let by_access_token = presented
            .access_token()
            .and_then(Result::ok)
            .and_then(|(token, _)| self.tokens.verify_signed(token, now).ok())
            .and_then(|claims| Some((claims.sub.parse::<i64>().ok()?, claims.sid)));
        // The device a refresh token belongs to, used or not.
        let by_refresh_token = match presented.refresh.as_deref() {
            Some(token) if !token.is_empty() && token.len() <= claims::MAX_TOKEN_BYTES => {
                self.db
                    .family_of_refresh_token(&refresh::hash_refresh_token(token))
                    .await?
            }
            _ => None,
        };
        for (user_id, device_id) in by_access_token.into_iter().chain(by_refresh_token) {
            self.revoke(user_id, &device_id, RevocationReason::SignedOut)
                .await?;
        }
        // Both cookies go when the browser holds either (a bearer header is no cookie).
        let holds_cookies = presented.access_cookie.is_some() || presented.refresh.is_some();
        Ok(if holds_cookies {
            self.forget_cookies()
        } else {
            CookieChanges::none()
        })
    }

    async fn is_live(&self, current: &CurrentUser) -> Result<bool, AppError> {
        Ok(self
            .db
            .family_is_live(&current.device_id, self.clock.now())
            .await?)
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError> {
        let now = self.clock.now();
        let rows = self.db.visible_families_of_user(user_id, now).await?;
        Ok(rows
            .into_iter()
            .map(|row| self.family_device(row, now))
            .collect())
    }

    async fn kill(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<Killed>, AppError> {
        let now = self.clock.now();
        let revoked = self.revoke(user_id, device_id, reason).await?;
        Ok(revoked.map(|family| Killed {
            mode: Mode::Jwt,
            access_valid_until: self
                .access_tail(family.access_expires_at)
                .map(|until| Moment::at(until, now)),
        }))
    }

    async fn kill_all_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevocationReason,
    ) -> Result<Ended, AppError> {
        let revoked = self
            .db
            .revoke_families_of_user_except(user_id, keep, reason, self.clock.now())
            .await?;
        let ids: Vec<i64> = revoked.iter().map(|family| family.id).collect();
        self.after_revoking(ids).await?;
        Ok(Ended {
            count: revoked.len() as u64,
            access_valid_until: revoked
                .iter()
                .filter_map(|family| self.access_tail(family.access_expires_at))
                .max(),
        })
    }
}
