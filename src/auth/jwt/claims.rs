//! Access tokens: their claims, and the two pure functions that make and check them.
//!
//! [`AccessTokens::verify`] takes the time as an argument and reads nothing else, so every
//! refusal has a unit test below. The rules, stated once: HS256 only, `typ` `at+jwt`
//! (RFC 9068), a `kid` naming a key of the ring, `iss` this server and `aud` this app, every claim
//! present with its type, and [`LEEWAY`] seconds of clock skew for `exp` and `iat`, no more.

use std::{
    collections::HashSet,
    sync::{Arc, PoisonError, RwLock},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{keys::KeyRing, shared_keys::RingCell};
use crate::{
    auth::user::Refusal,
    core::{config::SigningAlgorithm, text::excerpt},
    db::UserRecord,
    error::AppError,
};

/// The `typ` of our access tokens (RFC 9068): a token of another kind is refused even if signed
/// with our key.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The `aud` of our access tokens.
pub const AUDIENCE: &str = "ticketbooth";
/// Clock skew tolerated when checking `exp` and `iat`: 2 seconds, no more.
pub const LEEWAY: i64 = 2;
/// Tokens longer than this are refused unread.
pub const MAX_TOKEN_BYTES: usize = 4096;

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

/// The three dot-separated parts of a compact JWT, or `None` for any other shape.
pub fn split(token: &str) -> Option<[&str; 3]> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Some([header, payload, signature]),
        _ => None,
    }
}

/// The length of a compact JWT's signing input: its header, the dot, and its payload.
fn header_and_payload_length(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

/// A header or payload part decoded: base64url JSON holding an object, or `None`.
pub fn decode_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// The `jsonwebtoken` name of a signing algorithm.
fn algorithm_of(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::Hs256 => Algorithm::HS256,
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

/// Signs and checks access tokens with one key ring, for one issuer. The ring may be replaced
/// while the server runs (the database's, read again every few seconds: `shared_keys.rs`).
pub struct AccessTokens {
    keys: RingCell,
    validation: Validation,
    issuer: String,
    ttl: i64,
}

impl AccessTokens {
    pub fn new(keys: KeyRing, issuer: &str, ttl: i64) -> Self {
        // The rules `verify_signed` applies, as the crate's own `decode` would take them: the
        // compare page times that `decode` as the JWT's floor (`decoding`). Recognition checks
        // the same itself around the crate's signature check, parsing each part once: the
        // algorithm, the signature, that exp, iss, aud and sub are present, iss and aud. Time it
        // leaves to `verify` (validate_exp off), because only our clock can be moved by tests;
        // it checks exp and iat with LEEWAY.
        // One algorithm only, the ring's: a token naming another is refused before any key is
        // tried, so an HS256 token "signed" with a published Ed25519 public key (the classic
        // confusion attack) never meets that key.
        let algorithm = algorithm_of(keys.algorithm());
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.required_spec_claims =
            HashSet::from(["exp", "iss", "aud", "sub"].map(String::from));
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        AccessTokens {
            keys: Arc::new(RwLock::new(Arc::new(keys))),
            validation,
            issuer: issuer.to_owned(),
            ttl,
        }
    }

    /// The key tokens are signed with now, and the rules [`AccessTokens::verify`] decodes with.
    pub fn decoding(&self, now: i64) -> Option<(DecodingKey, Validation)> {
        let keys = self.keys();
        let (kid, _) = keys.current();
        Some((keys.verifying(kid, now)?.clone(), self.validation.clone()))
    }

    /// Lifetime of an access token, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// The key ring as it stands: it also derives refresh tokens' successors.
    pub fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Where the ring is held, for whatever replaces it.
    pub fn ring_cell(&self) -> &RingCell {
        &self.keys
    }

    /// Checks an access token at `now`: shape, header, signature, claims, time.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, Refusal> {
        let claims = self.verify_signed(token, now)?;
        if now > claims.exp.saturating_add(LEEWAY) {
            return Err(Refusal::Expired);
        }
        if claims.iat > now + LEEWAY {
            return Err(Refusal::IssuedInFuture);
        }
        Ok(claims)
    }

    /// Everything [`AccessTokens::verify`] checks but the time: a token this server signed,
    /// expired or not. Signing out uses it to find the device of an expired token; nothing
    /// uses it to let a request in.
    pub fn verify_signed(&self, token: &str, now: i64) -> Result<AccessClaims, Refusal> {
        if token.is_empty() {
            return Err(Refusal::Malformed("the token is empty".into()));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::Malformed("the token is too long".into()));
        }
        let [header, payload, signature] = split(token)
            .ok_or_else(|| Refusal::Malformed("a JWT has three dot-separated parts".into()))?;
        let header = decode_part(header)
            .ok_or_else(|| Refusal::Malformed("the header is not base64url JSON".into()))?;
        let algorithm = header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or("(none given)");
        let keys = self.keys();
        if algorithm != keys.algorithm().name() {
            return Err(Refusal::AlgorithmNotAllowed(excerpt(algorithm, 20)));
        }
        if header.get("typ").and_then(Value::as_str) != Some(ACCESS_TOKEN_TYPE) {
            return Err(Refusal::WrongType);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(Refusal::MissingKid)?;
        let key = keys
            .verifying(kid, now)
            .ok_or_else(|| Refusal::UnknownKey(excerpt(kid, 40)))?;
        // The header as the crate reads it: each field of its type, no field twice.
        jsonwebtoken::decode_header(token).map_err(|error| {
            Refusal::Malformed(format!("the header is not that of a JWT ({error})"))
        })?;
        // The signature over the first two parts, by the crate, with the ring's one algorithm
        // (the header named it, above). The crate's `decode` would also do this, after parsing
        // the header twice more and the claims twice: a third of a JWT request's recognition.
        let signing_input = &token[..header_and_payload_length(token)];
        let signed = jsonwebtoken::crypto::verify(
            signature,
            signing_input.as_bytes(),
            key,
            algorithm_of(keys.algorithm()),
        )
        .map_err(|error| match error.into_kind() {
            ErrorKind::Base64(_) => Refusal::Malformed("a part is not base64url text".into()),
            other => Refusal::Malformed(format!("{other:?}")),
        })?;
        if !signed {
            return Err(Refusal::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Refusal::Malformed("a part is not base64url text".into()))?;
        let not_ours = |why: &dyn std::fmt::Display| {
            Refusal::Malformed(format!(
                "the claims are not those of an access token ({why})"
            ))
        };
        // An object: serde would also fill the claims from an array, by position.
        if payload.trim_ascii_start().first() != Some(&b'{') {
            return Err(not_ours(&"not a JSON object"));
        }
        let claims: ArrivingClaims =
            serde_json::from_slice(&payload).map_err(|error| not_ours(&error))?;
        // What the crate's validation checked: the registered claims present (an `exp` it could
        // read as a time, not before 1970), then the issuer and the audience.
        for (name, present) in [
            ("exp", claims.exp.is_some_and(|exp| exp >= 0)),
            ("iss", claims.iss.is_some()),
            ("aud", claims.aud.is_some()),
            ("sub", claims.sub.is_some()),
        ] {
            if !present {
                return Err(Refusal::MissingClaim(name.to_owned()));
            }
        }
        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(Refusal::WrongIssuer);
        }
        if claims.aud.as_deref() != Some(AUDIENCE) {
            return Err(Refusal::WrongAudience);
        }
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
        if claims.sub.parse::<i64>().is_err() {
            return Err(Refusal::Malformed("sub is not a user id".into()));
        }
        Ok(claims)
    }

    /// Signs an access token for `user` on the device `device_id`, with the id `jti`; returns it
    /// with its `exp`.
    pub fn sign(
        &self,
        user: &UserRecord,
        device_id: &str,
        jti: String,
        now: i64,
    ) -> Result<(String, i64), AppError> {
        let exp = now + self.ttl;
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
        Ok((self.sign_claims(&claims)?, exp))
    }

    /// Signs `claims` as they are, with the current key.
    pub(super) fn sign_claims(&self, claims: &impl Serialize) -> Result<String, AppError> {
        let keys = self.keys();
        let (kid, key) = keys.current();
        let mut header = Header::new(algorithm_of(keys.algorithm()));
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|error| AppError::internal("signing an access token", &error))
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    use super::*;
    use crate::core::config::{Secret, SigningAlgorithm};

    const NOW: i64 = 1_800_000_000;
    const ISSUER: &str = "http://127.0.0.1:3000";
    const SECRET: [u8; 32] = [7; 32];

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            KeyRing::from_secrets(SigningAlgorithm::Hs256, &Secret::new(SECRET.to_vec()), &[]),
            ISSUER,
            300,
        )
    }

    fn user() -> UserRecord {
        UserRecord {
            id: 42,
            username: "alice".into(),
            password_hash: String::new(),
            role: "user".into(),
            created_at: NOW,
            password_changed_at: None,
        }
    }

    fn signed() -> String {
        tokens()
            .sign(&user(), "device", "jti".into(), NOW)
            .unwrap()
            .0
    }

    fn parts_of(token: &str) -> (Map<String, Value>, Map<String, Value>) {
        let [header, payload, _] = split(token).unwrap();
        (decode_part(header).unwrap(), decode_part(payload).unwrap())
    }

    /// A token with this header and these claims, signed with `secret` under `alg`.
    fn forged(header: Value, claims: Value, secret: &[u8], alg: Algorithm) -> String {
        forged_text(&header.to_string(), &claims.to_string(), secret, alg)
    }

    /// A token with this header and these claims as written, JSON or not, signed as `forged`.
    fn forged_text(header: &str, claims: &str, secret: &[u8], alg: Algorithm) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(secret), alg)
                .unwrap();
        format!("{input}.{signature}")
    }

    /// Our own token with `edit` applied to its header and claims, re-signed with our key.
    fn edited(edit: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>)) -> String {
        let (mut header, mut claims) = parts_of(&signed());
        edit(&mut header, &mut claims);
        forged(
            Value::Object(header),
            Value::Object(claims),
            &SECRET,
            Algorithm::HS256,
        )
    }

    fn refusal(token: &str) -> Refusal {
        tokens().verify(token, NOW).unwrap_err()
    }

    #[test]
    fn a_signed_token_verifies_with_every_claim() {
        let claims = tokens().verify(&signed(), NOW).unwrap();
        assert_eq!(claims.sub, "42");
        assert_eq!(claims.sid, "device");
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
        assert_eq!(claims.exp, NOW + 300);
    }

    #[test]
    fn the_shape_is_checked_before_anything_is_decoded() {
        assert!(matches!(refusal(""), Refusal::Malformed(m) if m.contains("empty")));
        assert!(
            matches!(refusal(&"a".repeat(5000)), Refusal::Malformed(m) if m.contains("too long"))
        );
        assert!(matches!(refusal("a.b"), Refusal::Malformed(m) if m.contains("three")));
        assert!(matches!(refusal("a.b.c.d"), Refusal::Malformed(m) if m.contains("three")));
        assert!(matches!(refusal("!!.b.c"), Refusal::Malformed(m) if m.contains("header")));
    }

    #[test]
    fn only_hs256_access_tokens_with_a_known_key_pass_the_header() {
        let alg_none = edited(|header, _| {
            header.insert("alg".into(), json!("none"));
        });
        assert_eq!(
            refusal(&alg_none),
            Refusal::AlgorithmNotAllowed("none".into())
        );
        let (header, claims) = parts_of(&signed());
        let mut hs384 = header.clone();
        hs384.insert("alg".into(), json!("HS384"));
        let hs384 = forged(
            Value::Object(hs384),
            Value::Object(claims.clone()),
            &SECRET,
            Algorithm::HS384,
        );
        assert_eq!(
            refusal(&hs384),
            Refusal::AlgorithmNotAllowed("HS384".into())
        );
        let id_token = edited(|header, _| {
            header.insert("typ".into(), json!("JWT"));
        });
        assert_eq!(refusal(&id_token), Refusal::WrongType);
        let no_kid = edited(|header, _| {
            header.remove("kid");
        });
        assert_eq!(refusal(&no_kid), Refusal::MissingKid);
        let unknown = edited(|header, _| {
            header.insert("kid".into(), json!("not-a-key"));
        });
        assert_eq!(refusal(&unknown), Refusal::UnknownKey("not-a-key".into()));
    }

    #[test]
    fn a_signature_by_another_key_or_over_other_claims_is_refused() {
        let (header, claims) = parts_of(&signed());
        let other_key = forged(
            Value::Object(header),
            Value::Object(claims),
            &[8; 32],
            Algorithm::HS256,
        );
        assert_eq!(refusal(&other_key), Refusal::BadSignature);
        let token = signed();
        let [h, _, signature] = split(&token).unwrap();
        let mut admin = parts_of(&token).1;
        admin.insert("role".into(), json!("admin"));
        let swapped = format!(
            "{h}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(Value::Object(admin).to_string())
        );
        assert_eq!(refusal(&swapped), Refusal::BadSignature);
    }

    #[test]
    fn issuer_audience_and_every_claim_are_required() {
        let foreign = edited(|_, claims| {
            claims.insert("iss".into(), json!("https://elsewhere.example"));
        });
        assert_eq!(refusal(&foreign), Refusal::WrongIssuer);
        let other_app = edited(|_, claims| {
            claims.insert("aud".into(), json!("another-app"));
        });
        assert_eq!(refusal(&other_app), Refusal::WrongAudience);
        for claim in [
            "exp", "iss", "aud", "sub", "iat", "jti", "sid", "name", "role",
        ] {
            let without = edited(|_, claims| {
                claims.remove(claim);
            });
            assert_eq!(
                refusal(&without),
                Refusal::MissingClaim(claim.into()),
                "{claim}"
            );
        }
        let numeric_sub = edited(|_, claims| {
            claims.insert("sub".into(), json!(42));
        });
        assert!(matches!(refusal(&numeric_sub), Refusal::Malformed(_)));
        let string_exp = edited(|_, claims| {
            claims.insert("exp".into(), json!("9999999999"));
        });
        assert!(matches!(refusal(&string_exp), Refusal::Malformed(_)));
        let not_a_user = edited(|_, claims| {
            claims.insert("sub".into(), json!("alice"));
        });
        assert!(matches!(refusal(&not_a_user), Refusal::Malformed(m) if m.contains("sub")));
    }

    #[test]
    fn an_expired_token_is_still_known_as_ours_but_a_forged_one_is_not() {
        let token = signed();
        let long_after = NOW + 10 * 86_400;
        assert_eq!(
            tokens().verify(&token, long_after).unwrap_err(),
            Refusal::Expired
        );
        assert_eq!(
            tokens().verify_signed(&token, long_after).unwrap().sid,
            "device"
        );
        let forged = edited(|_, claims| {
            claims.insert("sid".into(), json!("someone-else"));
        });
        let [h, p, _] = split(&forged).unwrap();
        let [_, _, signature] = split(&token).unwrap();
        assert_eq!(
            tokens()
                .verify_signed(&format!("{h}.{p}.{signature}"), NOW)
                .unwrap_err(),
            Refusal::BadSignature
        );
    }

    #[test]
    fn shapes_the_crate_refuses_are_refused_even_signed_with_our_key() {
        let (header, claims) = parts_of(&signed());
        let header = Value::Object(header).to_string();
        let ours = |header: &str, claims: &str| {
            refusal(&forged_text(header, claims, &SECRET, Algorithm::HS256))
        };
        let claims_text = Value::Object(claims.clone()).to_string();
        let malformed = |refusal: Refusal| matches!(refusal, Refusal::Malformed(_));

        // The claims as an array, in the order of their fields.
        let array = json!([
            ISSUER,
            AUDIENCE,
            "42",
            NOW,
            NOW + 300,
            "jti",
            "device",
            "alice",
            "user"
        ]);
        assert!(malformed(ours(&header, &array.to_string())));
        // A header field twice, the second one right.
        let twice = header.replacen('{', r#"{"typ":"JWT","#, 1);
        assert!(malformed(ours(&twice, &claims_text)), "{twice}");
        // A header field the crate reads as text, given as something else.
        let odd = header.replacen('{', r#"{"b64":false,"#, 1);
        assert!(malformed(ours(&odd, &claims_text)), "{odd}");
        // An `exp` before 1970 is no time at all.
        let mut negative = claims;
        negative.insert("exp".into(), json!(-1));
        assert_eq!(
            ours(&header, &Value::Object(negative).to_string()),
            Refusal::MissingClaim("exp".into())
        );
        // An `exp` at the end of time neither overflows nor expires.
        let last = edited(|_, claims| {
            claims.insert("exp".into(), json!(i64::MAX));
        });
        assert!(tokens().verify(&last, NOW).is_ok());
    }

    #[test]
    fn time_is_checked_with_exactly_the_stated_leeway() {
        let token = signed();
        let expiry = NOW + 300;
        assert!(tokens().verify(&token, expiry + LEEWAY).is_ok());
        assert_eq!(
            tokens().verify(&token, expiry + LEEWAY + 1).unwrap_err(),
            Refusal::Expired
        );
        assert!(tokens().verify(&token, NOW - LEEWAY).is_ok());
        assert_eq!(
            tokens().verify(&token, NOW - LEEWAY - 1).unwrap_err(),
            Refusal::IssuedInFuture
        );
    }
}
