//! JWT mode: a short-lived signed access token, and a long-lived refresh token that rotates.
//!
//! The access token is checked by signature alone: no database read per request, and no way to
//! take it back before it expires. The refresh token is an opaque random value whose SHA-256 the
//! server keeps, in a family that stands for one device; every refresh swaps it for a new one, and
//! a used token that comes back after the grace window revokes the whole family (someone copied
//! it). Killing a device revokes its family: its next refresh fails, its current access token
//! lives until `exp`.
//!
//! In the browser the access token travels in an HttpOnly cookie for every path, the refresh token
//! in an HttpOnly cookie sent only to [`REFRESH_PATH`]. Scripts and curl send
//! `Authorization: Bearer`.

use std::collections::HashSet;

use async_trait::async_trait;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{header::AUTHORIZATION, request::Parts};
use jsonwebtoken::{Algorithm, Header, Validation, errors::ErrorKind};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_cookies::{
    Cookie, Cookies,
    cookie::{SameSite, time::Duration as CookieDuration},
};

use super::{
    AuthMode, CurrentUser, Device, Recognised, Refusal, cookie_bytes, cookie_value,
    denylist::Denylist, keys::KeyRing, session::new_public_id,
};
use crate::{
    db::{Db, FamilyRow, NewFamily, Rotation, RotationOutcome, TokenRow, UserRecord},
    error::AppError,
    model::{
        ClaimView, Evidence, JwtEvidence, Killed, Mode, Moment, RecognitionReport, Revocation,
        RotationView, describe_seconds,
    },
    server::{
        client::ClientInfo,
        clock::Clock,
        config::{Config, CookieNames},
    },
};

/// The `typ` of our access tokens (RFC 9068): a token of another kind is refused even if signed
/// with our key.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The `aud` of our access tokens.
pub const AUDIENCE: &str = "ticketbooth";
/// Clock skew tolerated when checking `exp` and `iat`: 2 seconds, no more.
pub const LEEWAY: i64 = 2;
/// The only path the refresh cookie is sent to.
pub const REFRESH_PATH: &str = "/auth/refresh";
/// Tokens longer than this are refused unread.
const MAX_TOKEN_BYTES: usize = 4096;
/// Marks our refresh tokens, so that a leaked one is recognisable (for secret scanners too).
const REFRESH_TOKEN_PREFIX: &str = "tbr_";

pub const REASON_SIGNED_OUT: &str = "signed out";
pub const REASON_KILLED: &str = "signed out from another device";

/// The claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// This token's own id.
    pub jti: String,
    /// The refresh family: the device.
    pub sid: String,
    pub name: String,
    pub role: String,
}

/// Claims as they arrive, each optional, so that a missing one is named in the refusal.
#[derive(Deserialize)]
struct ArrivingClaims {
    iss: Option<String>,
    aud: Option<String>,
    sub: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
    sid: Option<String>,
    name: Option<String>,
    role: Option<String>,
}

/// What a sign-in or a refresh hands out.
#[derive(Clone, Debug)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
    /// The family's public id, the `sid` of the access token.
    pub device_id: String,
}

/// Why a refresh token was not exchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    Missing,
    Unknown,
    Expired,
    Revoked,
    /// Used before, after the grace window: the family is revoked now.
    Reused,
}

impl RefreshRefusal {
    pub fn describe(self) -> &'static str {
        match self {
            RefreshRefusal::Missing => "no refresh token",
            RefreshRefusal::Unknown => "unknown refresh token",
            RefreshRefusal::Expired => "the refresh token has expired",
            RefreshRefusal::Revoked => "this device was signed out",
            RefreshRefusal::Reused => {
                "the refresh token was already used: this device is signed out for safety"
            }
        }
    }
}

/// A revocation setting for one request, set in-process by the compare page's load generator to
/// measure every setting on one server. A request from outside cannot carry it.
#[derive(Clone, Copy, Debug)]
pub struct RevocationOverride(pub Revocation);

pub struct JwtMode {
    db: Db,
    clock: Clock,
    keys: KeyRing,
    revocation: Revocation,
    denylist: Denylist,
    validation: Validation,
    issuer: String,
    access_ttl: i64,
    refresh_ttl: i64,
    grace: i64,
    absolute_ttl: i64,
    cookies: CookieNames,
    secure: bool,
}

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// SHA-256 of a refresh token: what the database keeps.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The token of `Authorization: Bearer <token>`; `Err` for another scheme.
fn bearer_token(parts: &Parts) -> Option<Result<String, Refusal>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Err(Refusal::Malformed(
            "the Authorization header is not text".into(),
        )));
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(Err(Refusal::Malformed(format!(
            "the {scheme} scheme is not accepted, only Bearer"
        ))));
    }
    Some(Ok(token.trim().to_owned()))
}

impl JwtMode {
    pub fn new(db: Db, clock: Clock, config: &Config, keys: KeyRing) -> Self {
        // The crate checks algorithm, signature, iss and aud, and that exp, iss, aud and sub are
        // present. Time it leaves to us (validate_exp off), because only our clock can be moved
        // by tests; `verify` checks exp and iat with LEEWAY.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.required_spec_claims =
            HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_issuer(&[&config.public_origin]);
        validation.set_audience(&[AUDIENCE]);
        JwtMode {
            db,
            clock,
            keys,
            revocation: config.jwt_revocation,
            denylist: Denylist::default(),
            validation,
            issuer: config.public_origin.clone(),
            access_ttl: config.access_token_ttl,
            refresh_ttl: config.refresh_token_ttl,
            grace: config.refresh_reuse_grace,
            absolute_ttl: config.session_absolute_timeout,
            cookies: config.cookie_names(),
            secure: config.secure_cookies(),
        }
    }

    pub fn access_ttl(&self) -> i64 {
        self.access_ttl
    }

    /// This server's revocation setting.
    pub fn revocation(&self) -> Revocation {
        self.revocation
    }

    /// The setting that applies to this request: the server's, unless the load generator says.
    pub fn revocation_for(&self, parts: &Parts) -> Revocation {
        parts
            .extensions
            .get::<RevocationOverride>()
            .map_or(self.revocation, |setting| setting.0)
    }

    pub fn cookie_names(&self) -> CookieNames {
        self.cookies
    }

    pub fn denylist(&self) -> &Denylist {
        &self.denylist
    }

    /// Puts every unexpired access token of a revoked family on the denylist.
    pub async fn deny_family(&self, family_id: i64) -> Result<(), AppError> {
        let now = self.clock.now();
        for (jti, exp) in self.db.live_access_tokens_of_family(family_id, now).await? {
            self.denylist.deny(jti, exp, now);
        }
        Ok(())
    }

    /// After families are revoked: with the denylist setting, their access tokens stop now.
    async fn after_revoking(
        &self,
        family_ids: impl IntoIterator<Item = i64>,
    ) -> Result<(), AppError> {
        if self.revocation == Revocation::Denylist {
            for family_id in family_ids {
                self.deny_family(family_id).await?;
            }
        }
        Ok(())
    }

    /// The checks a revocation setting adds to a valid signature.
    async fn check_revocation(
        &self,
        claims: &AccessClaims,
        setting: Revocation,
    ) -> Result<Option<Refusal>, AppError> {
        let now = self.clock.now();
        Ok(match setting {
            Revocation::Pure => None,
            Revocation::SessionCheck => (!self.db.family_is_live(&claims.sid, now).await?)
                .then_some(Refusal::DeviceSignedOut),
            Revocation::Denylist => self
                .denylist
                .denies(&claims.jti, now)
                .then_some(Refusal::TokenRevoked),
        })
    }

    /// Checks an access token: shape, header, signature, claims, time.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, Refusal> {
        if token.is_empty() {
            return Err(Refusal::Malformed("the token is empty".into()));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Malformed("the token is too long".into()));
        }
        let mut segments = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(Refusal::Malformed(
                "a JWT has three dot-separated parts".into(),
            ));
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| Refusal::Malformed("the header is not base64url JSON".into()))?;
        let algorithm = header["alg"].as_str().unwrap_or("(none given)");
        if algorithm != "HS256" {
            return Err(Refusal::AlgorithmNotAllowed(algorithm.to_owned()));
        }
        if header["typ"].as_str() != Some(ACCESS_TOKEN_TYPE) {
            return Err(Refusal::WrongType);
        }
        let kid = header["kid"].as_str().ok_or(Refusal::MissingKid)?;
        let now = self.clock.now();
        let key = self
            .keys
            .verifying(kid, now)
            .ok_or_else(|| Refusal::UnknownKey(kid.to_owned()))?;
        let claims = jsonwebtoken::decode::<ArrivingClaims>(token, key, &self.validation)
            .map_err(|error| match error.into_kind() {
                ErrorKind::InvalidSignature => Refusal::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    Refusal::AlgorithmNotAllowed(algorithm.to_owned())
                }
                ErrorKind::MissingRequiredClaim(claim) => Refusal::MissingClaim(claim),
                ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
                ErrorKind::InvalidAudience => Refusal::WrongAudience,
                ErrorKind::InvalidClaimFormat(claim) => {
                    Refusal::Malformed(format!("the {claim} claim has the wrong type"))
                }
                ErrorKind::Json(error) => Refusal::Malformed(format!(
                    "the claims are not those of an access token ({error})"
                )),
                ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                    Refusal::Malformed("a part is not base64url text".into())
                }
                other => Refusal::Malformed(format!("{other:?}")),
            })?
            .claims;
        let missing = |name: &str| Refusal::MissingClaim(name.to_owned());
        let claims = AccessClaims {
            iss: claims.iss.ok_or_else(|| missing("iss"))?,
            aud: claims.aud.ok_or_else(|| missing("aud"))?,
            sub: claims.sub.ok_or_else(|| missing("sub"))?,
            iat: claims.iat.ok_or_else(|| missing("iat"))?,
            exp: claims.exp.ok_or_else(|| missing("exp"))?,
            jti: claims.jti.ok_or_else(|| missing("jti"))?,
            sid: claims.sid.ok_or_else(|| missing("sid"))?,
            name: claims.name.ok_or_else(|| missing("name"))?,
            role: claims.role.ok_or_else(|| missing("role"))?,
        };
        if now > claims.exp + LEEWAY {
            return Err(Refusal::Expired);
        }
        if claims.iat > now + LEEWAY {
            return Err(Refusal::IssuedInFuture);
        }
        if claims.sub.parse::<i64>().is_err() {
            return Err(Refusal::Malformed("sub is not a user id".into()));
        }
        Ok(claims)
    }

    /// Signs an access token; returns it with its `exp` and `jti`.
    fn sign_access(
        &self,
        user: &UserRecord,
        device_id: &str,
        now: i64,
    ) -> Result<(String, i64, String), AppError> {
        let jti = random_token(16);
        let (token, exp) = self.sign_access_with_jti(user, device_id, now, jti.clone())?;
        Ok((token, exp, jti))
    }

    fn sign_access_with_jti(
        &self,
        user: &UserRecord,
        device_id: &str,
        now: i64,
        jti: String,
    ) -> Result<(String, i64), AppError> {
        let (kid, key) = self.keys.current();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(kid.into());
        let exp = now + self.access_ttl;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.into(),
            sub: user.id.to_string(),
            iat: now,
            exp,
            jti,
            sid: device_id.into(),
            name: user.username.clone(),
            role: user.role.clone(),
        };
        let token = jsonwebtoken::encode(&header, &claims, key)
            .map_err(|error| AppError::internal("signing an access token", &error))?;
        Ok((token, exp))
    }

    /// Starts a family for a new sign-in: a first refresh token and an access token.
    pub async fn start(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
    ) -> Result<TokenPair, AppError> {
        let now = self.clock.now();
        let device_id = new_public_id();
        let refresh_token = format!("{REFRESH_TOKEN_PREFIX}{}", random_token(32));
        let refresh_expires_at = now + self.refresh_ttl.min(self.absolute_ttl);
        let (access_token, access_expires_at, access_jti) =
            self.sign_access(user, &device_id, now)?;
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
            })
            .await?;
        Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token,
            refresh_expires_at,
            device_id,
        })
    }

    /// Exchanges a refresh token for a new pair.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        if refresh_token.is_empty() {
            return Ok(Err(RefreshRefusal::Missing));
        }
        if refresh_token.len() > MAX_TOKEN_BYTES {
            return Ok(Err(RefreshRefusal::Unknown));
        }
        let now = self.clock.now();
        let new_token = format!("{REFRESH_TOKEN_PREFIX}{}", random_token(32));
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
                grace: self.grace,
                refresh_ttl: self.refresh_ttl,
                absolute_ttl: self.absolute_ttl,
                access_ttl: self.access_ttl,
            })
            .await?;
        let (family, refresh_expires_at) = match outcome {
            RotationOutcome::Rotated {
                family,
                token_expires_at,
                ..
            } => (family, token_expires_at),
            RotationOutcome::Unknown => return Ok(Err(RefreshRefusal::Unknown)),
            RotationOutcome::Expired => return Ok(Err(RefreshRefusal::Expired)),
            RotationOutcome::Revoked => return Ok(Err(RefreshRefusal::Revoked)),
            RotationOutcome::Reused { family_id } => {
                tracing::warn!(
                    device = %family_hint(refresh_token),
                    "a used refresh token came back: its family is revoked"
                );
                self.after_revoking([family_id]).await?;
                return Ok(Err(RefreshRefusal::Reused));
            }
        };
        let Some(user) = self.db.user_by_id(family.user_id).await? else {
            return Ok(Err(RefreshRefusal::Revoked));
        };
        let (access_token, access_expires_at) =
            self.sign_access_with_jti(&user, &family.public_id, now, access_jti)?;
        Ok(Ok(TokenPair {
            access_token,
            access_expires_at,
            refresh_token: new_token,
            refresh_expires_at,
            device_id: family.public_id,
        }))
    }

    /// The access cookie lives as long as the refresh token, although the token in it expires
    /// much sooner: an expired token that is still sent tells the server to refresh.
    pub fn set_cookies(&self, cookies: &Cookies, pair: &TokenPair) {
        let lifetime = CookieDuration::seconds(pair.refresh_expires_at - self.clock.now());
        cookies.add(self.cookie(
            self.cookies.access,
            pair.access_token.clone(),
            "/",
            lifetime,
        ));
        cookies.add(self.cookie(
            self.cookies.refresh,
            pair.refresh_token.clone(),
            REFRESH_PATH,
            lifetime,
        ));
    }

    pub fn clear_cookies(&self, cookies: &Cookies) {
        for (name, path) in [
            (self.cookies.access, "/"),
            (self.cookies.refresh, REFRESH_PATH),
        ] {
            cookies.add(self.cookie(name, String::new(), path, CookieDuration::ZERO));
        }
    }

    /// HttpOnly, Secure over https; the refresh cookie is SameSite=Strict: only our own pages
    /// may trigger a refresh.
    fn cookie(
        &self,
        name: &'static str,
        value: String,
        path: &'static str,
        max_age: CookieDuration,
    ) -> Cookie<'static> {
        let same_site = if path == REFRESH_PATH {
            SameSite::Strict
        } else {
            SameSite::Lax
        };
        Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(same_site)
            .max_age(max_age)
            .build()
    }

    /// The refresh token the browser sent (only requests to [`REFRESH_PATH`] carry it).
    pub fn refresh_cookie<'a>(&self, parts: &'a Parts) -> Option<&'a str> {
        cookie_value(parts, self.cookies.refresh)
    }

    /// The access token of the request and where it was: the Authorization header wins.
    fn presented(&self, parts: &Parts) -> Option<Result<(String, String), Refusal>> {
        if let Some(bearer) = bearer_token(parts) {
            return Some(bearer.map(|token| (token, "the Authorization header".to_owned())));
        }
        let token = cookie_value(parts, self.cookies.access)?.to_owned();
        Some(Ok((token, format!("the cookie {}", self.cookies.access))))
    }

    fn family_device(&self, row: FamilyRow, now: i64) -> Device {
        let revoked = row.revoked_at.map(|_| {
            (
                row.revoked_reason.clone().unwrap_or_default(),
                row.access_expires_at,
            )
        });
        Device {
            id: row.public_id,
            mode: Mode::Jwt,
            device: row.device,
            ip: row.ip,
            created_at: row.created_at,
            last_seen_at: row.last_used_at,
            expires_at: if revoked.is_some() {
                row.access_expires_at
            } else {
                row.expires_at
            },
            revoked: revoked.filter(|(_, until)| *until > now),
        }
    }

    fn cookies_of<'a>(&self, parts: &'a Parts) -> Result<&'a Cookies, AppError> {
        parts.extensions.get::<Cookies>().ok_or_else(|| {
            tracing::error!("the cookie layer is missing from the router");
            AppError::Internal
        })
    }
}

/// A short, non-reversible hint of a token for logs: never the token itself.
fn family_hint(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&hash_refresh_token(token)[..4])
}

/// A refresh token of the family as the dashboard's history shows it.
fn rotation_view(token: TokenRow, now: i64) -> RotationView {
    let status = match (token.revoked_at, token.used_at) {
        (Some(at), _) => format!("revoked {}", Moment::at(at, now).relative),
        (None, Some(at)) => format!("used {}", Moment::at(at, now).relative),
        (None, None) if token.expires_at <= now => "expired".to_owned(),
        (None, None) => "current".to_owned(),
    };
    RotationView {
        issued: Moment::at(token.created_at, now),
        ip: token.ip,
        kind: if token.is_first {
            "sign-in"
        } else {
            "rotation"
        }
        .to_owned(),
        status,
    }
}

/// The meaning of each header field and claim, for the dashboard.
fn explain_field(name: &str, value: &serde_json::Value, now: i64) -> ClaimView {
    let time = |meaning: &str| {
        value.as_i64().map_or_else(
            || meaning.to_owned(),
            |at| {
                let moment = Moment::at(at, now);
                format!("{meaning}: {} ({})", moment.utc, moment.relative)
            },
        )
    };
    let meaning = match name {
        "alg" => "HMAC-SHA-256 with the server's secret; the only algorithm accepted".to_owned(),
        "typ" => "an access token (RFC 9068); a token of another type is refused".to_owned(),
        "kid" => "which key of the server's key ring signed it".to_owned(),
        "iss" => "who issued it: this server".to_owned(),
        "aud" => "who it is for: this app".to_owned(),
        "sub" => "the user's id".to_owned(),
        "iat" => time("issued"),
        "exp" => time("expires"),
        "jti" => "this token's own random id".to_owned(),
        "sid" => "the refresh family, that is this device: the devices page kills it".to_owned(),
        "name" => "the username, copied in at signing: no lookup needed".to_owned(),
        "role" => "the role, copied in at signing: a change shows at the next refresh".to_owned(),
        _ => "not ours".to_owned(),
    };
    let value = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    ClaimView {
        name: name.to_owned(),
        value,
        meaning,
    }
}

fn decoded_part(part: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
    part.and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[async_trait]
impl AuthMode for JwtMode {
    fn mode(&self) -> Mode {
        Mode::Jwt
    }

    async fn recognise(&self, parts: &Parts) -> Result<Recognised, AppError> {
        let (token, _) = match self.presented(parts) {
            None => return Ok(Recognised::Absent),
            Some(Err(refusal)) => return Ok(Recognised::Refused(refusal)),
            Some(Ok(presented)) => presented,
        };
        let claims = match self.verify(&token) {
            Ok(claims) => claims,
            Err(refusal) => return Ok(Recognised::Refused(refusal)),
        };
        if let Some(refusal) = self
            .check_revocation(&claims, self.revocation_for(parts))
            .await?
        {
            return Ok(Recognised::Refused(refusal));
        }
        Ok(Recognised::User(CurrentUser {
            user_id: claims.sub.parse().unwrap_or_default(),
            username: claims.name,
            role: claims.role,
            mode: Mode::Jwt,
            device_id: claims.sid,
        }))
    }

    async fn sign_in(&self, parts: &Parts, user: &UserRecord) -> Result<(), AppError> {
        let pair = self.start(user, &ClientInfo::from_parts(parts)).await?;
        self.set_cookies(self.cookies_of(parts)?, &pair);
        Ok(())
    }

    async fn sign_out(&self, parts: &Parts, current: &CurrentUser) -> Result<(), AppError> {
        let revoked = self
            .db
            .revoke_family_of_user(
                current.user_id,
                &current.device_id,
                REASON_SIGNED_OUT,
                self.clock.now(),
            )
            .await?;
        self.after_revoking(revoked.map(|family| family.id)).await?;
        if let Some(cookies) = parts.extensions.get::<Cookies>() {
            self.clear_cookies(cookies);
        }
        Ok(())
    }

    async fn explain(
        &self,
        parts: &Parts,
        current: &CurrentUser,
    ) -> Result<RecognitionReport, AppError> {
        let Some(Ok((token, carried_in))) = self.presented(parts) else {
            return Err(AppError::Unauthenticated);
        };
        let now = self.clock.now();
        let family = self
            .db
            .family(&current.device_id)
            .await?
            .filter(|family| family.user_id == current.user_id)
            .ok_or(AppError::Unauthenticated)?;
        let history = self
            .db
            .tokens_of_family(family.id)
            .await?
            .into_iter()
            .map(|token| rotation_view(token, now))
            .collect();
        let mut parts_of_token = token.split('.');
        let (header_text, payload_text, signature) = (
            parts_of_token.next().unwrap_or_default(),
            parts_of_token.next().unwrap_or_default(),
            parts_of_token.next().unwrap_or_default(),
        );
        let header = decoded_part(Some(header_text));
        let claims = decoded_part(Some(payload_text));
        let start = |part: &str| part.chars().take(12).collect::<String>();
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(now);
        let token_bytes = if carried_in.starts_with("the cookie") {
            cookie_bytes(parts, self.cookies.access)
        } else {
            token.len()
        };
        Ok(RecognitionReport {
            viewer: current.viewer(),
            // Filled in by the caller, which knows the request's measurements.
            cost: None,
            server_now: now,
            device: self.family_device(family, now).view(current, now),
            evidence: Evidence::Jwt(JwtEvidence {
                carried_in,
                token_bytes,
                header: header
                    .iter()
                    .map(|(name, value)| explain_field(name, value, now))
                    .collect(),
                claims: claims
                    .iter()
                    .map(|(name, value)| explain_field(name, value, now))
                    .collect(),
                header_start: start(header_text),
                payload_start: start(payload_text),
                signature_start: start(signature),
                expires: Moment::at(exp, now),
                access_ttl: describe_seconds(self.access_ttl),
                refresh_ttl: describe_seconds(self.refresh_ttl),
                history,
                revocation: self.revocation_for(parts),
            }),
        })
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError> {
        let now = self.clock.now();
        let rows = self.db.visible_families_of_user(user_id, now).await?;
        Ok(rows
            .into_iter()
            .map(|row| self.family_device(row, now))
            .collect())
    }

    async fn kill(&self, user_id: i64, device_id: &str) -> Result<Option<Killed>, AppError> {
        let now = self.clock.now();
        let revoked = self
            .db
            .revoke_family_of_user(user_id, device_id, REASON_KILLED, now)
            .await?;
        self.after_revoking(revoked.as_ref().map(|family| family.id))
            .await?;
        Ok(revoked.map(|family| Killed {
            mode: Mode::Jwt,
            access_valid_until: Some(Moment::at(family.access_expires_at, now)),
        }))
    }

    async fn kill_all_except(&self, user_id: i64, keep: Option<&str>) -> Result<u64, AppError> {
        let revoked = self
            .db
            .revoke_families_of_user_except(user_id, keep, REASON_KILLED, self.clock.now())
            .await?;
        let ids: Vec<i64> = revoked.iter().map(|family| family.id).collect();
        self.after_revoking(ids).await?;
        Ok(revoked.len() as u64)
    }
}
