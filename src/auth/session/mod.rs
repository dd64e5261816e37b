//! Cookie + server-side session mode.
//!
//! The browser holds a random session ID in an HttpOnly cookie; the server holds the session's
//! entry in a store ([`store`]). Every request is checked against the store, so a session the
//! server deletes is dead on its very next request.
//!
//! The mode talks to its store directly, through tower-sessions' `SessionStore` interface, and
//! sets its cookie itself: it needs no session layer around the router, and no request. What
//! tower-sessions would leave to the app is done here:
//! - a new ID at every sign-in, the browser's old session deleted (against session fixation);
//! - an absolute lifetime: the session ends its absolute timeout after sign-in however busy it is;
//! - idle expiry that counts reads: a request refreshes `last_seen_at` and the expiry, at most
//!   once per [`LAST_SEEN_GRANULARITY`], so a busy session costs one write a minute, not one per
//!   request;
//! - "Remember me": without it the cookie has no Max-Age (the browser forgets it when it
//!   closes) and the short lifetimes apply. Either lifetime is checked at every request against
//!   today's settings, never left to the cookie's expiry.

pub mod memory;
pub mod redis;
pub mod sql;
pub mod state;
pub mod store;

use std::sync::Arc;

use async_trait::async_trait;
use tower_cookies::cookie::SameSite;
use tower_sessions::session::Id;

use super::{
    AuthMode,
    cookies::{CookieChanges, CookieScope, credential_cookie, removal},
    credentials::{Credentials, SIGNED_OUT_COOKIE},
    mode::{Ended, Issued},
    user::{CurrentUser, Device, Recognised, Refusal},
};
use crate::{
    core::{
        client::ClientInfo,
        clock::Clock,
        config::{Config, LAST_SEEN_GRANULARITY},
        ids::new_public_id,
    },
    db::{Db, SessionRow, UserRecord},
    error::AppError,
    model::{
        Killed, Lifetimes, Mode, Revocation, RevocationReason, SessionFootprint, SessionStoreKind,
    },
};
use state::{SessionState, hash_session_id};
use store::SessionBackend;

/// The session cookie: HttpOnly, SameSite=Lax (top-level navigations from other sites keep the
/// user signed in; their POSTs are refused by the origin check anyway), Path=/, no Domain, and
/// Secure (with the `__Host-` prefix) when the public URL is https.
const SAME_SITE: SameSite = SameSite::Lax;

/// How long a browser keeps the note of why its session was ended ([`SIGNED_OUT_COOKIE`]).
const SIGNED_OUT_NOTE_SECONDS: i64 = 600;

/// How this server's sessions are set up, for the dashboard.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    /// How long a session lasts, with "Remember me" and without.
    pub lifetimes: Lifetimes,
    pub cookie_name: &'static str,
    pub secure: bool,
    pub store: SessionStoreKind,
}

pub struct SessionMode {
    store: Arc<dyn SessionBackend>,
    /// Why sessions ended, whichever store keeps the sessions themselves.
    db: Db,
    clock: Clock,
    settings: SessionSettings,
}

impl SessionMode {
    pub fn new(store: Arc<dyn SessionBackend>, db: Db, clock: Clock, config: &Config) -> Self {
        let settings = SessionSettings {
            lifetimes: config.session_lifetimes(),
            cookie_name: config.cookie_names().session,
            secure: config.secure_cookies(),
            store: store.kind(),
        };
        SessionMode {
            store,
            db,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> SessionSettings {
        self.settings
    }

    /// When a session used at `now` expires: after the idle timeout, but never later than the
    /// absolute limit after sign-in.
    fn expires_at(&self, remembered: bool, signed_in_at: i64, now: i64) -> i64 {
        self.settings
            .lifetimes
            .of(remembered)
            .ends_at(signed_in_at, now)
    }

    fn scope(&self) -> CookieScope {
        CookieScope {
            path: "/",
            same_site: SAME_SITE,
            secure: self.settings.secure,
        }
    }

    /// The session cookie: persistent until `expires_at` when remembered, else a
    /// browser-session cookie (no Max-Age), forgotten when the browser closes.
    fn cookie(&self, id: &Id, expires_at: i64, remembered: bool) -> CookieChanges {
        let max_age = remembered.then(|| expires_at - self.clock.now());
        CookieChanges::none().set(credential_cookie(
            self.settings.cookie_name,
            id.to_string(),
            self.scope(),
            max_age,
        ))
    }

    fn forget_cookie(&self) -> CookieChanges {
        CookieChanges::none().set(removal(self.settings.cookie_name, self.scope()))
    }

    /// Opens a session for `user` on `client`, remembered or not; returns its ID, to present
    /// as the cookie, and its public id on the devices page.
    pub async fn open(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
        remembered: bool,
    ) -> Result<(Id, String), AppError> {
        let now = self.clock.now();
        let state = SessionState {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role.clone(),
            device_id: new_public_id(),
            device: client.device.clone(),
            ip: client.ip.clone(),
            signed_in_at: now,
            last_seen_at: now,
            remembered,
        };
        // The store picks the ID: whatever the record carries is replaced.
        let device_id = state.device_id.clone();
        let mut record = state.into_record(Id::default(), self.expires_at(remembered, now, now))?;
        self.store.create(&mut record).await?;
        Ok((record.id, device_id))
    }

    /// The store's entry for the live session a request presents. Its `created_at` is the
    /// sign-in time.
    pub async fn record(&self, presented: &Credentials) -> Result<Option<SessionRow>, AppError> {
        let Some(id) = presented_id(presented) else {
            return Ok(None);
        };
        Ok(self.store.live_session(&hash_session_id(&id)).await?)
    }

    /// Ends a session by its public id (the playground's "killed" session, the load devices).
    pub async fn end_device(&self, user_id: i64, device_id: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .delete_session_of_user(user_id, device_id)
            .await?)
    }

    /// Ends the user's sessions that `end` picks, remembering `reason` for each, so that the
    /// browser's next request is told why; returns how many ended. A session that appears
    /// meanwhile is not picked.
    async fn end_sessions(
        &self,
        user_id: i64,
        reason: RevocationReason,
        end: impl Fn(&SessionRow) -> bool,
    ) -> Result<u64, AppError> {
        let now = self.clock.now();
        let mut ended = 0;
        for row in self.store.live_sessions_of_user(user_id).await? {
            if !end(&row) {
                continue;
            }
            self.db
                .remember_ended_session(&row.id_hash, user_id, reason.key(), now, row.expires_at)
                .await?;
            if self
                .store
                .delete_session_of_user(user_id, &row.public_id)
                .await?
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Whether the store answers now.
    pub async fn ping(&self) -> Result<(), AppError> {
        Ok(self.store.ping().await?)
    }

    /// What the store spends per session, as it counts itself.
    pub async fn footprint(&self) -> Result<SessionFootprint, AppError> {
        Ok(self.store.footprint().await?)
    }

    /// Rewrites the role every live session of `user_id` carries; returns how many.
    pub async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64, AppError> {
        Ok(self.store.set_role_of_user(user_id, role).await?)
    }

    /// The sweeper: removes expired sessions, and what was kept about why others ended.
    pub async fn delete_expired(&self) -> Result<u64, AppError> {
        let ended = self
            .db
            .delete_expired_ended_sessions(self.clock.now())
            .await?;
        Ok(self.store.delete_expired().await? + ended)
    }
}

/// The session ID a request presents, if its cookie holds one. Anything else in the cookie is
/// not looked up at all.
fn presented_id(presented: &Credentials) -> Option<Id> {
    presented.session.as_deref()?.parse().ok()
}

/// A session's store entry as a device of the devices page, under `lifetimes`.
pub fn device_of(row: SessionRow, lifetimes: &Lifetimes) -> Device {
    let lifetime = lifetimes.of(row.remembered);
    Device {
        remembered: row.remembered,
        lifetime,
        id: row.public_id,
        mode: Mode::Session,
        device: row.device,
        ip: row.ip,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        // Today's lifetime may end it sooner than the expiry written with the row.
        expires_at: row
            .expires_at
            .min(lifetime.ends_at(row.created_at, row.last_seen_at)),
        revoked: None,
    }
}

#[async_trait]
impl AuthMode for SessionMode {
    fn mode(&self) -> Mode {
        Mode::Session
    }

    async fn recognise(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        _revocation: Revocation,
    ) -> Result<(Recognised, CookieChanges), AppError> {
        if presented.session.is_none() {
            return Ok((Recognised::Absent, CookieChanges::none()));
        }
        // A cookie that holds no session ID: nothing to look up, no query; the browser forgets it.
        let Some(id) = presented_id(presented) else {
            return Ok((Recognised::Absent, self.forget_cookie()));
        };
        let ended = || {
            Ok((
                Recognised::Refused(Refusal::UnknownSession),
                self.forget_cookie(),
            ))
        };
        let Some(record) = self.store.load(&id).await? else {
            // Only a session that is gone costs this second look: ended by someone, and why.
            let reason = self
                .db
                .ended_session_reason(&hash_session_id(&id), self.clock.now())
                .await?
                .and_then(|key| RevocationReason::from_key(&key));
            if let Some(reason) = reason {
                // The dead cookie goes; a note of why stays for the requests that follow.
                let note = credential_cookie(
                    SIGNED_OUT_COOKIE,
                    reason.key().to_owned(),
                    self.scope(),
                    Some(SIGNED_OUT_NOTE_SECONDS),
                );
                return Ok((
                    Recognised::Refused(Refusal::SessionEnded(reason)),
                    self.forget_cookie().set(note),
                ));
            }
            return ended();
        };
        let Ok(mut state) = SessionState::of(&record) else {
            return ended();
        };
        let now = self.clock.now();
        // Today's lifetimes decide, not the expiry stored when the session was last written:
        // a shortened timeout ends older sessions too.
        let lifetime = self.settings.lifetimes.of(state.remembered);
        if lifetime.has_ended(state.signed_in_at, state.last_seen_at, now) {
            self.store.delete(&id).await?;
            return ended();
        }
        let mut changes = CookieChanges::none();
        if now - state.last_seen_at >= LAST_SEEN_GRANULARITY {
            state.last_seen_at = now;
            state.ip = client.ip.clone();
            let expires_at = self.expires_at(state.remembered, state.signed_in_at, now);
            let record = state.clone().into_record(id, expires_at)?;
            // Updates a live entry only: a session killed meanwhile stays dead.
            self.store.save(&record).await?;
            changes = self.cookie(&id, expires_at, state.remembered);
        }
        Ok((
            Recognised::User(CurrentUser {
                user_id: state.user_id,
                username: state.username,
                role: state.role,
                mode: Mode::Session,
                device_id: state.device_id,
            }),
            changes,
        ))
    }

    async fn issue(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
        remembered: bool,
    ) -> Result<Issued, AppError> {
        // Always a new ID (the store picks it): the browser's old session, if any, was ended
        // before (`Auth::issue`), against session fixation.
        let (id, device_id) = self.open(user, client, remembered).await?;
        let now = self.clock.now();
        Ok(Issued {
            cookies: self.cookie(&id, self.expires_at(remembered, now, now), remembered),
            device_id,
        })
    }

    async fn end(&self, presented: &Credentials) -> Result<CookieChanges, AppError> {
        if presented.session.is_none() {
            return Ok(CookieChanges::none());
        }
        if let Some(id) = presented_id(presented) {
            self.store.delete(&id).await?;
        }
        Ok(self.forget_cookie())
    }

    async fn is_live(&self, _current: &CurrentUser) -> Result<bool, AppError> {
        // Recognition read the session from its store during this very request.
        Ok(true)
    }

    async fn devices(&self, user_id: i64) -> Result<Vec<Device>, AppError> {
        let rows = self.store.live_sessions_of_user(user_id).await?;
        let lifetimes = &self.settings.lifetimes;
        Ok(rows
            .into_iter()
            .map(|row| device_of(row, lifetimes))
            .collect())
    }

    async fn kill(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<Killed>, AppError> {
        // The row is gone: the device's next request finds only why.
        let ended = self
            .end_sessions(user_id, reason, |row| row.public_id == device_id)
            .await?;
        Ok((ended > 0).then_some(Killed {
            mode: Mode::Session,
            access_valid_until: None,
        }))
    }

    async fn kill_all_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
        reason: RevocationReason,
    ) -> Result<Ended, AppError> {
        let count = self
            .end_sessions(user_id, reason, |row| Some(row.public_id.as_str()) != keep)
            .await?;
        Ok(Ended {
            count,
            access_valid_until: None,
        })
    }
}
