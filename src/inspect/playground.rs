//! The tamper playground: edit your own credentials and ask the server what it makes of them.
//!
//! The server builds the edited token from the caller's real one, so the page never holds a
//! whole token (the access cookie stays HttpOnly), and runs it through the very recognition a
//! request goes through, presented as a script would present it. The answer is a [`Verdict`] and
//! nothing else: no cookie is set, no token is handed back. An edited token can therefore grant
//! nothing, even when it is accepted (the unchanged control is).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use crate::{
    auth::{
        Auth, Credentials, CurrentUser, LiveUser, Recognised,
        jwt::{
            RefusedCopy,
            claims::{decode_part, split},
        },
    },
    core::client::ClientInfo,
    error::AppError,
    model::{Mode, SessionProbe, SignatureEdit, TokenParts, TokenPreset, Verdict},
};

/// Edited header or payload text longer than this is refused unread.
pub const MAX_PART_BYTES: usize = 2048;
const PLAYGROUND_DEVICE: &str = "ticketbooth playground";

fn pretty(object: Option<Map<String, Value>>) -> String {
    object
        .map(|object| serde_json::to_string_pretty(&object).unwrap_or_default())
        .unwrap_or_else(|| "null".into())
}

fn edit_signature(signature: &str, edit: SignatureEdit) -> String {
    match edit {
        SignatureEdit::Keep => signature.to_owned(),
        SignatureEdit::Remove => String::new(),
        SignatureEdit::FlipOne => {
            let mut chars: Vec<char> = signature.chars().collect();
            // Not the last character: its low bits may be padding that decoding ignores.
            if let Some(c) = chars.first_mut() {
                *c = if *c == 'A' { 'B' } else { 'A' };
            }
            chars.into_iter().collect()
        }
    }
}

fn verdict(recognised: Recognised) -> Verdict {
    match recognised {
        Recognised::User(user) => Verdict {
            accepted: true,
            code: "accepted".into(),
            reason: format!(
                "accepted: recognised as {} by {}. Only a verdict comes back: nothing was \
                 granted.",
                user.username,
                user.mode.label()
            ),
        },
        Recognised::Refused(refusal) => Verdict {
            accepted: false,
            code: refusal.code().into(),
            reason: refusal.to_string(),
        },
        Recognised::Absent => Verdict {
            accepted: false,
            code: "absent".into(),
            reason: "not a session ID at all: the server does not even look it up".into(),
        },
    }
}

/// The caller's own access token, as the request carried it (by the one rule of
/// [`Credentials::access_token`]).
fn own_token<'a>(presented: &'a Credentials, current: &CurrentUser) -> Result<&'a str, AppError> {
    let not_jwt = || AppError::BadRequest {
        reason: "the token playground needs JWT mode: switch in the header first".into(),
    };
    if current.mode != Mode::Jwt {
        return Err(not_jwt());
    }
    match presented.access_token() {
        Some(Ok((token, _))) => Ok(token),
        _ => Err(not_jwt()),
    }
}

/// The caller's access token decoded, to start editing from. The signature is shown only in
/// part: the page must never hold a token it could replay.
pub fn token_parts(presented: &Credentials, current: &CurrentUser) -> Result<TokenParts, AppError> {
    let token = own_token(presented, current)?;
    let [header, payload, signature] = split(token).unwrap_or_default();
    Ok(TokenParts {
        header: pretty(decode_part(header)),
        payload: pretty(decode_part(payload)),
        signature_start: signature.chars().take(12).collect(),
    })
}

/// Builds a token from the caller's, with `header` and `payload` as given (any text) and the
/// signature edited, and says what recognition makes of it.
pub async fn try_token(
    auth: &Auth,
    presented: &Credentials,
    current: &CurrentUser,
    header: &str,
    payload: &str,
    signature: SignatureEdit,
) -> Result<Verdict, AppError> {
    if header.len() > MAX_PART_BYTES || payload.len() > MAX_PART_BYTES {
        return Err(AppError::invalid(
            "payload",
            format!("Keep header and payload under {MAX_PART_BYTES} bytes each."),
        ));
    }
    let token = own_token(presented, current)?;
    let [_, _, own_signature] = split(token).unwrap_or_default();
    let edited = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.trim()),
        URL_SAFE_NO_PAD.encode(payload.trim()),
        edit_signature(own_signature, signature)
    );
    judge(auth, &Credentials::bearer(edited)).await
}

/// One of the ready-made forgeries, applied to the caller's own token.
pub async fn try_preset(
    auth: &Auth,
    presented: &Credentials,
    current: &CurrentUser,
    preset: TokenPreset,
) -> Result<Verdict, AppError> {
    let token = own_token(presented, current)?;
    // The control goes byte for byte: re-encoding could reorder the JSON and break the
    // signature. Expiry and the sid claim are checked behind the signature, so those two
    // presets are signed by the server itself: only the check they are named after can refuse
    // them.
    let signed_by_us = match preset {
        TokenPreset::Unchanged => Some(token.to_owned()),
        TokenPreset::Expired => Some(auth.refused_copy(token, RefusedCopy::Expired)?),
        TokenPreset::DropSid => Some(auth.refused_copy(token, RefusedCopy::WithoutSid)?),
        _ => None,
    };
    if let Some(token) = signed_by_us {
        return judge(auth, &Credentials::bearer(token)).await;
    }
    let [header, payload, _] = split(token).unwrap_or_default();
    let (mut header, mut payload) = (
        decode_part(header).unwrap_or_default(),
        decode_part(payload).unwrap_or_default(),
    );
    let now = auth.now();
    let mut signature = SignatureEdit::Keep;
    match preset {
        TokenPreset::Unchanged | TokenPreset::Expired | TokenPreset::DropSid => {}
        TokenPreset::MakeAdmin => {
            payload.insert("role".into(), json!("admin"));
        }
        TokenPreset::FiftyYears => {
            payload.insert("exp".into(), json!(now + 50 * 365 * 86_400));
        }
        TokenPreset::AlgNone => {
            header.insert("alg".into(), json!("none"));
            signature = SignatureEdit::Remove;
        }
        TokenPreset::Hs384 => {
            header.insert("alg".into(), json!("HS384"));
        }
        TokenPreset::UnknownKid => {
            header.insert("kid".into(), json!("not-a-key"));
        }
        TokenPreset::FlipSignature => signature = SignatureEdit::FlipOne,
    }
    let header = Value::Object(header).to_string();
    let payload = Value::Object(payload).to_string();
    try_token(auth, presented, current, &header, &payload, signature).await
}

/// Presents a session ID that should not work and says what the server made of it.
pub async fn try_session(
    auth: &Auth,
    current: &LiveUser,
    probe: SessionProbe,
) -> Result<Verdict, AppError> {
    let client = ClientInfo::in_process(PLAYGROUND_DEVICE);
    let presented = match probe {
        SessionProbe::Random => tower_sessions::session::Id::default().to_string(),
        SessionProbe::Malformed => "not-a-session-id".to_owned(),
        SessionProbe::Killed => {
            let user = auth.user(current).await?;
            let (id, device) = auth.open_session(&user, &client).await?;
            auth.end_session(user.id, &device).await?;
            id
        }
    };
    judge(auth, &auth.presenting_session(presented)).await
}

/// What this server's recognition makes of `presented`. Any cookie it would set is dropped:
/// the playground hands nothing back.
async fn judge(auth: &Auth, presented: &Credentials) -> Result<Verdict, AppError> {
    let client = ClientInfo::in_process(PLAYGROUND_DEVICE);
    let recognition = auth.recognise(presented, &client).await?.recognition;
    Ok(verdict(match (recognition.user, recognition.refused) {
        (Some(user), _) => Recognised::User(user),
        (None, Some(refusal)) => Recognised::Refused(refusal),
        (None, None) => Recognised::Absent,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_signature_differs_in_its_first_character_only() {
        let flipped = edit_signature("Abc", SignatureEdit::FlipOne);
        assert_eq!(flipped, "Bbc");
        assert_eq!(edit_signature("xyz", SignatureEdit::FlipOne), "Ayz");
        assert_eq!(edit_signature("xyz", SignatureEdit::Remove), "");
    }
}
