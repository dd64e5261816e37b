//! The dashboard's account of a request: what the browser presented, what the server looked
//! at, what it keeps, and what recognising the request cost. Built from what `auth` exposes, for
//! the credentials the request presented.

use serde_json::Value;

use crate::{
    auth::{
        Auth, Credentials, CurrentUser, Device,
        credentials::TokenSource,
        jwt::claims::{decode_part, split},
        session::device_of,
    },
    db::{SessionRow, TokenRow},
    error::AppError,
    model::{
        CarriedIn, ClaimView, Evidence, JwtEvidence, Mode, Moment, RecognitionCost,
        RecognitionReport, RotationView, SessionEvidence, describe_seconds,
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
        device: device.view(current, now),
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
    let fingerprint: String = row.id_hash[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cookie_bytes = presented
        .session
        .as_ref()
        .map_or(0, |value| settings.cookie_name.len() + 1 + value.len());
    let evidence = Evidence::Session(SessionEvidence {
        cookie_name: settings.cookie_name.into(),
        cookie_bytes,
        fingerprint,
        idle_timeout: describe_seconds(settings.idle_timeout),
        absolute_expiry: Moment::at(row.created_at + settings.absolute_timeout, now),
        attributes: session_cookie_attributes(row.expires_at - now, settings.secure),
        store: settings.store,
    });
    Ok((device_of(row), evidence))
}

/// The session cookie's attributes as the server sets them, each with what it does.
fn session_cookie_attributes(max_age: i64, secure: bool) -> Vec<ClaimView> {
    let attribute = |name: &str, value: String, meaning: &str| ClaimView {
        name: name.into(),
        value,
        meaning: meaning.into(),
    };
    vec![
        attribute(
            "Max-Age",
            max_age.to_string(),
            "seconds left; renewed with last-seen, at most once a minute",
        ),
        attribute("Path", "/".into(), "sent with every request to this site"),
        attribute(
            "Domain",
            "(none)".into(),
            "this host only, never its subdomains",
        ),
        attribute(
            "HttpOnly",
            "yes".into(),
            "page scripts cannot read it (no theft by XSS)",
        ),
        attribute(
            "Secure",
            if secure { "yes" } else { "no" }.into(),
            if secure {
                "sent over https only"
            } else {
                "this server is reached over plain http; with an https PUBLIC_URL it is set"
            },
        ),
        attribute(
            "SameSite",
            "Lax".into(),
            "sent when you follow a link here, not with other sites' forms or frames",
        ),
    ]
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
        access_ttl: describe_seconds(settings.access_ttl),
        refresh_ttl: describe_seconds(settings.refresh_ttl),
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
fn explain_field(name: &str, value: &Value, now: i64) -> ClaimView {
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
