//! The dashboard's account of a request: what the browser presented, what the server looked
//! at, what it keeps, and what recognising the request cost. Built from what `auth` exposes, for
//! the credentials the request presented; values only, the dashboard words them.

use serde_json::Value;

use crate::{
    auth::{
        Auth, Credentials, CurrentUser, Device,
        credentials::TokenSource,
        jwt::claims::{decode_part, split},
        session::device_of,
    },
    core::ids::hex,
    db::{SessionRow, TokenRow},
    error::AppError,
    model::{
        CarriedIn, ClaimView, Evidence, JwtEvidence, Mode, Moment, RecognitionCost,
        RecognitionReport, RotationView, SessionEvidence, TokenStatus, describe_seconds,
    },
};

/// How the server recognised the request of `current` that presented `presented`.
pub async fn explain(
    auth: &Auth,
    presented: &Credentials,
    current: &CurrentUser,
    cost: RecognitionCost,
) -> Result<RecognitionReport, AppError> {
    let now = auth.now();
    let (device, evidence) = match current.mode {
        Mode::Session => session_evidence(auth, presented, now).await?,
        Mode::Jwt => jwt_evidence(auth, presented, current, now).await?,
    };
    Ok(RecognitionReport {
        viewer: current.viewer(),
        cost,
        server_now: now,
        device: device.view(Some(current), now),
        evidence,
    })
}

async fn session_evidence(
    auth: &Auth,
    presented: &Credentials,
    now: i64,
) -> Result<(Device, Evidence), AppError> {
    let settings = auth.session_settings();
    let row: SessionRow = auth
        .session_record(presented)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    // The first 4 bytes of the stored hash; a row with a shorter one shows what it has.
    let fingerprint = hex(&row.id_hash[..row.id_hash.len().min(4)]);
    let cookie_bytes = presented
        .session
        .as_ref()
        .map_or(0, |value| settings.cookie_name.len() + 1 + value.len());
    let device = device_of(row, &settings.lifetimes);
    let evidence = Evidence::Session(SessionEvidence {
        cookie_name: settings.cookie_name.into(),
        cookie_bytes,
        fingerprint,
        idle_timeout: describe_seconds(device.lifetime.idle),
        absolute_expiry: Moment::at(device.created_at + device.lifetime.absolute, now),
        max_age: device.remembered.then(|| device.expires_at - now),
        secure: settings.secure,
        store: settings.store,
    });
    Ok((device, evidence))
}

async fn jwt_evidence(
    auth: &Auth,
    presented: &Credentials,
    current: &CurrentUser,
    now: i64,
) -> Result<(Device, Evidence), AppError> {
    let settings = auth.jwt_settings();
    let Some(Ok((token, source))) = presented.access_token() else {
        return Err(AppError::Unauthenticated);
    };
    let (device, tokens) = auth
        .jwt_family(current)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let [header_text, payload_text, signature] = split(token).unwrap_or_default();
    let header = decode_part(header_text).unwrap_or_default();
    let claims = decode_part(payload_text).unwrap_or_default();
    let start = |part: &str| part.chars().take(12).collect::<String>();
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
    let (carried_in, token_bytes) = match source {
        TokenSource::AccessCookie => (
            CarriedIn::Cookie {
                name: settings.cookie_names.access.into(),
            },
            settings.cookie_names.access.len() + 1 + token.len(),
        ),
        TokenSource::AuthorizationHeader => (CarriedIn::AuthorizationHeader, token.len()),
    };
    let evidence = Evidence::Jwt(JwtEvidence {
        carried_in,
        token_bytes,
        header: header
            .iter()
            .map(|(name, value)| claim_view(name, value, now))
            .collect(),
        claims: claims
            .iter()
            .map(|(name, value)| claim_view(name, value, now))
            .collect(),
        header_start: start(header_text),
        payload_start: start(payload_text),
        signature_start: start(signature),
        expires: Moment::at(exp, now),
        access_ttl: describe_seconds(settings.access_ttl),
        refresh_ttl: describe_seconds(device.lifetime.idle),
        history: tokens
            .into_iter()
            .map(|token| rotation_view(token, now))
            .collect(),
        revocation: settings.revocation,
    });
    Ok((device, evidence))
}

/// A refresh token of the family as the dashboard's history shows it.
fn rotation_view(token: TokenRow, now: i64) -> RotationView {
    let status = match (token.revoked_at, token.used_at) {
        (Some(at), _) => TokenStatus::Revoked {
            at: Moment::at(at, now),
        },
        (None, Some(at)) => TokenStatus::Used {
            at: Moment::at(at, now),
        },
        (None, None) if token.expires_at <= now => TokenStatus::Expired,
        (None, None) => TokenStatus::Current,
    };
    RotationView {
        issued: Moment::at(token.created_at, now),
        ip: token.ip,
        at_sign_in: token.is_first,
        status,
    }
}

/// A header field or claim as the token carries it; a time claim with the moment it names.
fn claim_view(name: &str, value: &Value, now: i64) -> ClaimView {
    let at = matches!(name, "iat" | "exp")
        .then(|| value.as_i64())
        .flatten()
        .map(|at| Moment::at(at, now));
    ClaimView {
        name: name.to_owned(),
        value: value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned),
        at,
    }
}
