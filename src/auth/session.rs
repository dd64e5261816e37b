//! Cookie + server-side session mode.
//!
//! The browser holds a random session ID in an HttpOnly cookie; the server holds the session's
//! row (see [`super::session_store`]). Every request is checked against the store, so a session
//! the server deletes is dead on its very next request.
//!
//! tower-sessions leaves three things to the app, done here:
//! - a new ID at sign-in (`cycle_id`), against session fixation;
//! - an absolute lifetime: the session ends `absolute_timeout` after sign-in however busy it is;
//! - idle expiry that counts reads: a request refreshes `last_seen_at` and the expiry, at most
//!   once per [`LAST_SEEN_GRANULARITY`], so a busy session costs one write a minute, not one per
//!   request.

use std::sync::Arc;

use async_trait::async_trait;
use http::request::Parts;
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};

use super::{
    AuthMode, CurrentUser, Device, Recognised, Refusal, cookie_bytes, in_process_request,
    session_store::{STATE_KEY, SessionBackend, SessionState, SharedSessionStore, hash_session_id},
};
use crate::{
    db::{SessionRow, UserRecord},
    error::AppError,
    model::{
        ClaimView, Evidence, Killed, Mode, Moment, RecognitionReport, SessionEvidence,
        describe_seconds,
    },
    server::{
        client::ClientInfo,
        clock::Clock,
        config::{Config, LAST_SEEN_GRANULARITY},
    },
};

pub struct SessionMode {
    store: Arc<dyn SessionBackend>,
    clock: Clock,
    idle_timeout: i64,
    absolute_timeout: i64,
    cookie_name: &'static str,
    secure: bool,
}

impl SessionMode {
    pub fn new(store: Arc<dyn SessionBackend>, clock: Clock, config: &Config) -> Self {
        SessionMode {
            store,
            clock,
            idle_timeout: config.session_idle_timeout,
            absolute_timeout: config.session_absolute_timeout,
            cookie_name: config.cookie_names().session,
            secure: config.secure_cookies(),
        }
    }

    /// The tower-sessions layer that loads and saves sessions around every request.
    /// Cookie: HttpOnly, SameSite=Lax (top-level navigations from other sites keep the user
    /// signed in; their POSTs are refused by the origin check anyway), Path=/, no Domain, and
    /// Secure (with the `__Host-` prefix) when the public URL is https.
    pub fn layer(
        store: Arc<dyn SessionBackend>,
        config: &Config,
    ) -> SessionManagerLayer<SharedSessionStore> {
        SessionManagerLayer::new(SharedSessionStore(store))
            .with_name(config.cookie_names().session)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.secure_cookies())
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
                config.session_idle_timeout,
            )))
    }

    /// When a session used at `now` expires: after the idle timeout, but never later than the
    /// absolute limit after sign-in.
    fn expires_at(&self, signed_in_at: i64, now: i64) -> i64 {
        (now + self.idle_timeout).min(signed_in_at + self.absolute_timeout)
    }

    /// The session cookie's attributes as the server sets them, each with what it does.
    fn cookie_attributes(&self, max_age: i64) -> Vec<ClaimView> {
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
                if self.secure { "yes" } else { "no" }.into(),
                if self.secure {
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

    /// Opens a session for `user` outside any browser request (the load generator, the
    /// playground), saving it as the session layer would. Returns its ID and public id.
    pub async fn open_detached(
        &self,
        user: &UserRecord,
        device: &str,
    ) -> Result<(tower_sessions::session::Id, String), AppError> {
        let session = Session::new(None, Arc::new(SharedSessionStore(self.store.clone())), None);
        let parts = in_process_request("", device, |extensions| {
            extensions.insert(session.clone());
        });
        self.sign_in(&parts, user).await?;
        session.save().await?;
        let id = session.id().ok_or(AppError::Internal)?;
        let state = session
            .get::<SessionState>(STATE_KEY)
            .await?
            .ok_or(AppError::Internal)?;
        Ok((id, state.device_id))
    }

    /// A request presenting `cookie_value` as its session cookie, as the session layer would
    /// hand it on: with a fresh Session that loads its record when asked.
    pub fn detached_request(&self, cookie_value: &str, device: &str) -> Parts {
        let session = Session::new(
            cookie_value.parse().ok(),
            Arc::new(SharedSessionStore(self.store.clone())),
            None,
        );
        in_process_request(
            &format!("{}={cookie_value}", self.cookie_name),
            device,
            |extensions| {
                extensions.insert(session);
            },
        )
    }

    /// Ends a session by its public id (the playground's "killed" session).
    pub async fn end(&self, user_id: i64, device_id: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .delete_session_of_user(user_id, device_id)
            .await?)
    }

    fn set_expiry(&self, session: &Session, signed_in_at: i64, now: i64) {
        let at = OffsetDateTime::from_unix_timestamp(self.expires_at(signed_in_at, now))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        session.set_expiry(Some(Expiry::AtDateTime(at)));
    }
}

fn session_of(parts: &Parts) -> Result<&Session, AppError> {
    parts.extensions.get::<Session>().ok_or_else(|| {
        tracing::error!("the session layer is missing from the router");
        AppError::Internal
    })
}

fn device_of(row: SessionRow) -> Device {
    Device {
        id: row.public_id,
        mode: Mode::Session,
        device: row.device,
        ip: row.ip,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        expires_at: row.expires_at,
        revoked: None,
    }
}

/// 16 random bytes, URL-safe base64: names a device without revealing anything about it.
pub fn new_public_id() -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[async_trait]
impl AuthMode for SessionMode {
    fn mode(&self) -> Mode {
        Mode::Session
    }

    async fn recognise(&self, parts: &Parts) -> Result<Recognised, AppError> {
        // No session on the request (an in-process request that carries none), or no parseable
        // cookie: nothing to look up, no query.
        let Some(session) = parts
            .extensions
            .get::<Session>()
            .filter(|s| s.id().is_some())
        else {
            return Ok(Recognised::Absent);
        };
        let Some(mut state) = session.get::<SessionState>(STATE_KEY).await? else {
            return Ok(Recognised::Refused(Refusal::UnknownSession));
        };
        let now = self.clock.now();
        if now >= state.signed_in_at + self.absolute_timeout {
            session.flush().await?;
            return Ok(Recognised::Refused(Refusal::UnknownSession));
        }
        if now - state.last_seen_at >= LAST_SEEN_GRANULARITY {
            state.last_seen_at = now;
            state.ip = ClientInfo::from_parts(parts).ip;
            session.insert(STATE_KEY, &state).await?;
            self.set_expiry(session, state.signed_in_at, now);
        }
        Ok(Recognised::User(CurrentUser {
            user_id: state.user_id,
            username: state.username,
            role: state.role,
            mode: Mode::Session,
            device_id: state.device_id,
        }))
    }

    async fn sign_in(&self, parts: &Parts, user: &UserRecord) -> Result<(), AppError> {
        let session = session_of(parts)?;
        if session.id().is_some() {
            // Whatever session this browser had ends here; the new one gets a new ID.
            session.cycle_id().await?;
        }
        let now = self.clock.now();
        let client = ClientInfo::from_parts(parts);
        let state = SessionState {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role.clone(),
            device_id: new_public_id(),
            device: client.device,
            ip: client.ip,
            signed_in_at: now,
            last_seen_at: now,
        };
        session.insert(STATE_KEY, &state).await?;
        self.set_expiry(session, now, now);
        Ok(())
    }

    async fn sign_out(&self, parts: &Parts, _current: &CurrentUser) -> Result<(), AppError> {
        // Deletes the row and makes the layer send a removal cookie.
        session_of(parts)?.flush().await?;
        Ok(())
    }

    async fn explain(
        &self,
        parts: &Parts,
        current: &CurrentUser,
    ) -> Result<RecognitionReport, AppError> {
        let session = session_of(parts)?;
        let id = session.id().ok_or(AppError::Unauthenticated)?;
        let state = session
            .get::<SessionState>(STATE_KEY)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let id_hash = hash_session_id(&id);
        let now = self.clock.now();
        let row = self
            .store
            .live_session(&id_hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let fingerprint: String = id_hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        let max_age = row.expires_at - now;
        Ok(RecognitionReport {
            viewer: current.viewer(),
            // Filled in by the caller, which knows the request's measurements.
            cost: None,
            server_now: now,
            device: device_of(row).view(current, now),
            evidence: Evidence::Session(SessionEvidence {
                cookie_name: self.cookie_name.into(),
                cookie_bytes: cookie_bytes(parts, self.cookie_name),
                fingerprint,
                idle_timeout: describe_seconds(self.idle_timeout),
                absolute_expiry: Moment::at(state.signed_in_at + self.absolute_timeout, now),
                attributes: self.cookie_attributes(max_age),
                store: self.store.kind(),
            }),
        })
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError> {
        let rows = self.store.live_sessions_of_user(user_id).await?;
        Ok(rows.into_iter().map(device_of).collect())
    }

    async fn kill(&self, user_id: i64, device_id: &str) -> Result<Option<Killed>, AppError> {
        let deleted = self
            .store
            .delete_session_of_user(user_id, device_id)
            .await?;
        // The row is gone: the device's next request is anonymous, nothing survives.
        Ok(deleted.then_some(Killed {
            mode: Mode::Session,
            access_valid_until: None,
        }))
    }

    async fn kill_all_except(&self, user_id: i64, keep: Option<&str>) -> Result<u64, AppError> {
        Ok(self
            .store
            .delete_sessions_of_user_except(user_id, keep)
            .await?)
    }
}
