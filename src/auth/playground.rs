//! The tamper playground: edit your own credentials and ask the server what it makes of them.
//!
//! The server builds the edited token from the caller's real one, so the page never holds a
//! whole token (the access cookie stays HttpOnly), and runs it through the very recognition a
//! request goes through. The answer is a [`Verdict`] and nothing else: no cookie is set, no token
//! is handed back. An edited token can therefore grant nothing, even when it is accepted (the
//! unchanged control is).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::request::Parts;
use serde_json::{Value, json};

use super::{Auth, AuthMode, CurrentUser, Recognised, Refusal, cookie_value, in_process_request};
use crate::{
    error::AppError,
    model::{Mode, SessionProbe, SignatureEdit, TokenParts, TokenPreset, Verdict},
};

/// Edited header or payload text longer than this is refused unread.
pub const MAX_PART_BYTES: usize = 2048;
const PLAYGROUND_DEVICE: &str = "ticketbooth playground";

fn decode_part(part: &str) -> Value {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
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

impl Verdict {
    fn of(recognised: Recognised) -> Self {
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
}

impl Auth {
    /// The caller's own access token, as the request carried it.
    fn own_token<'a>(&self, parts: &'a Parts, current: &CurrentUser) -> Result<&'a str, AppError> {
        let not_jwt = || AppError::BadRequest {
            reason: "the token playground needs JWT mode: switch in the header first".into(),
        };
        if current.mode != Mode::Jwt {
            return Err(not_jwt());
        }
        let names = self.jwt.cookie_names();
        cookie_value(parts, names.access)
            .or_else(|| {
                parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "))
            })
            .ok_or_else(not_jwt)
    }

    /// The caller's access token decoded, to start editing from. The signature is shown only in
    /// part: the page must never hold a token it could replay.
    pub fn token_parts(
        &self,
        parts: &Parts,
        current: &CurrentUser,
    ) -> Result<TokenParts, AppError> {
        let token = self.own_token(parts, current)?;
        let mut pieces = token.split('.');
        let (header, payload, signature) = (
            pieces.next().unwrap_or_default(),
            pieces.next().unwrap_or_default(),
            pieces.next().unwrap_or_default(),
        );
        Ok(TokenParts {
            header: pretty(&decode_part(header)),
            payload: pretty(&decode_part(payload)),
            signature_start: signature.chars().take(12).collect(),
        })
    }

    /// Builds a token from the caller's, with `header` and `payload` as given (any text) and the
    /// signature edited, and says what recognition makes of it.
    pub async fn try_token(
        &self,
        parts: &Parts,
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
        let token = self.own_token(parts, current)?;
        let own_signature = token.rsplit('.').next().unwrap_or_default();
        let edited = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.trim()),
            URL_SAFE_NO_PAD.encode(payload.trim()),
            edit_signature(own_signature, signature)
        );
        self.judge_token(&edited).await
    }

    /// One of the ready-made forgeries, applied to the caller's own token.
    pub async fn try_preset(
        &self,
        parts: &Parts,
        current: &CurrentUser,
        preset: TokenPreset,
    ) -> Result<Verdict, AppError> {
        let token = self.own_token(parts, current)?;
        let mut pieces = token.split('.');
        let mut header = decode_part(pieces.next().unwrap_or_default());
        let mut payload = decode_part(pieces.next().unwrap_or_default());
        let now = self.clock.now();
        let mut signature = SignatureEdit::Keep;
        match preset {
            TokenPreset::Unchanged => {}
            TokenPreset::MakeAdmin => payload["role"] = json!("admin"),
            TokenPreset::FiftyYears => payload["exp"] = json!(now + 50 * 365 * 86_400),
            TokenPreset::AlgNone => {
                header["alg"] = json!("none");
                signature = SignatureEdit::Remove;
            }
            TokenPreset::Hs384 => header["alg"] = json!("HS384"),
            TokenPreset::UnknownKid => header["kid"] = json!("not-a-key"),
            TokenPreset::FlipSignature => signature = SignatureEdit::FlipOne,
            TokenPreset::DropSid => {
                if let Some(claims) = payload.as_object_mut() {
                    claims.remove("sid");
                }
            }
            TokenPreset::Expired => payload["exp"] = json!(now - 60),
        }
        let (header, payload) = if preset == TokenPreset::Unchanged {
            // Byte for byte: re-encoding could reorder the JSON and break the signature.
            let mut pieces = token.split('.');
            return self
                .judge_token(&format!(
                    "{}.{}.{}",
                    pieces.next().unwrap_or_default(),
                    pieces.next().unwrap_or_default(),
                    pieces.next().unwrap_or_default()
                ))
                .await;
        } else {
            (header.to_string(), payload.to_string())
        };
        self.try_token(parts, current, &header, &payload, signature)
            .await
    }

    /// Runs a token through JWT recognition, with this server's revocation setting.
    async fn judge_token(&self, token: &str) -> Result<Verdict, AppError> {
        let parts = in_process_request("", PLAYGROUND_DEVICE, |_| {});
        let mut parts = parts;
        let bearer = format!("Bearer {token}");
        let Ok(value) = http::HeaderValue::from_str(&bearer) else {
            return Ok(Verdict::of(Recognised::Refused(Refusal::Malformed(
                "the token has characters a header cannot carry".into(),
            ))));
        };
        parts.headers.insert(http::header::AUTHORIZATION, value);
        Ok(Verdict::of(self.jwt.recognise(&parts).await?))
    }

    /// Presents a session ID that should not work and says what the server made of it.
    pub async fn try_session(
        &self,
        current: &CurrentUser,
        probe: SessionProbe,
    ) -> Result<Verdict, AppError> {
        let sessions = &self.session;
        let presented = match probe {
            SessionProbe::Random => tower_sessions::session::Id::default().to_string(),
            SessionProbe::Malformed => "not-a-session-id".to_owned(),
            SessionProbe::Killed => {
                let user = self
                    .db
                    .user_by_id(current.user_id)
                    .await?
                    .ok_or(AppError::Unauthenticated)?;
                let (id, device) = sessions.open_detached(&user, PLAYGROUND_DEVICE).await?;
                sessions.end(user.id, &device).await?;
                id.to_string()
            }
        };
        let parts = sessions.detached_request(&presented, PLAYGROUND_DEVICE);
        Ok(Verdict::of(sessions.recognise(&parts).await?))
    }
}
