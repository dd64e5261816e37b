//! How a request is recognised, and nothing about pages.
//!
//! [`AuthMode`] is the small interface both ways of telling clients apart implement: the cookie
//! session mode ([`session::SessionMode`]) and the JWT mode ([`jwt::JwtMode`]). It takes values,
//! never a request: what the request presents ([`Credentials`], read once), who is on the other
//! end ([`ClientInfo`]), and a user. What a mode wants the browser to keep comes back as
//! [`CookieChanges`] for the caller to apply.
//!
//! [`Auth`] is the facade the layers above use: the recognition middleware asks it once per
//! request and leaves a [`Recognition`] in the request's extensions; handlers and server
//! functions then ask for a [`CurrentUser`].

pub mod accounts;
pub mod cookies;
pub mod credentials;
pub mod jwt;
pub mod mode;
pub mod password;
pub mod recent;
pub mod session;
pub mod throttle;
pub mod user;

use std::sync::Arc;

use tower_cookies::cookie::SameSite;

use crate::{
    core::{client::ClientInfo, clock::Clock, config::CookieNames},
    db::{Db, SessionRow, TokenRow, UserRecord},
    error::AppError,
    model::{DeviceView, Killed, Mode, Revocation, RevocationReason},
};
pub use cookies::CookieChanges;
use cookies::{CookieScope, credential_cookie};
pub use credentials::Credentials;
use credentials::MODE_CHOICE_COOKIE;
use jwt::{
    JwtMode, JwtSettings,
    refresh::{RefreshRefusal, TokenPair},
};
pub use mode::AuthMode;
use password::Passwords;
use session::{SessionMode, SessionSettings};
use throttle::{SignInThrottle, SignUpThrottle};
pub use user::{CurrentUser, Device, LiveUser, Recognised, Recognition, Refusal};

/// The modes and what signing in needs: shared by every request.
#[derive(Clone)]
pub struct Auth {
    session: Arc<SessionMode>,
    jwt: Arc<JwtMode>,
    db: Db,
    passwords: Passwords,
    throttle: Arc<SignInThrottle>,
    sign_up_throttle: Arc<SignUpThrottle>,
    clock: Clock,
    cookie_names: CookieNames,
    secure_cookies: bool,
}

/// What [`Auth::recognise`] found, and the cookies the response should set because of it.
pub struct Recognising {
    pub recognition: Recognition,
    pub cookies: CookieChanges,
}

impl Auth {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session: SessionMode,
        jwt: JwtMode,
        db: Db,
        passwords: Passwords,
        throttles: (SignInThrottle, SignUpThrottle),
        clock: Clock,
        cookie_names: CookieNames,
        secure_cookies: bool,
    ) -> Self {
        let (throttle, sign_up_throttle) = throttles;
        Auth {
            session: Arc::new(session),
            jwt: Arc::new(jwt),
            db,
            passwords,
            throttle: Arc::new(throttle),
            sign_up_throttle: Arc::new(sign_up_throttle),
            clock,
            cookie_names,
            secure_cookies,
        }
    }

    /// The modes in the order they are asked: the session cookie first.
    fn modes(&self) -> [&dyn AuthMode; 2] {
        [self.session.as_ref(), self.jwt.as_ref()]
    }

    fn mode(&self, mode: Mode) -> &dyn AuthMode {
        match mode {
            Mode::Session => self.session.as_ref(),
            Mode::Jwt => self.jwt.as_ref(),
        }
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// What stands between a password guesser and the password hasher.
    pub fn sign_in_throttle(&self) -> &SignInThrottle {
        &self.throttle
    }

    /// Reads what a request presents, under this server's cookie names: the one reader.
    pub fn read_credentials(&self, headers: &http::HeaderMap) -> Credentials {
        Credentials::read(headers, self.cookie_names)
    }

    /// What a browser holding only the session cookie `id` would present.
    pub fn presenting_session(&self, id: String) -> Credentials {
        Credentials::session_cookie(self.cookie_names, id)
    }

    /// What a browser holding only the access cookie `token` would present.
    pub fn presenting_access_token(&self, token: String) -> Credentials {
        Credentials::access_cookie(self.cookie_names, token)
    }

    /// This server's JWT revocation setting.
    pub fn revocation(&self) -> Revocation {
        self.jwt.settings().revocation
    }

    /// Asks each mode in turn, under this server's revocation setting; the first that
    /// recognises the request wins. Otherwise the first refusal is kept, to say why.
    pub async fn recognise(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
    ) -> Result<Recognising, AppError> {
        self.recognise_with(presented, client, self.revocation())
            .await
    }

    /// [`Auth::recognise`] under the revocation `setting`: the compare page measures every
    /// setting on one server.
    pub async fn recognise_with(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        setting: Revocation,
    ) -> Result<Recognising, AppError> {
        let mut recognition = Recognition::default();
        let mut cookies = CookieChanges::none();
        for mode in self.modes() {
            if presented.has_authorization() && mode.mode() == Mode::Session {
                // An Authorization header decides alone (see `credentials`).
                continue;
            }
            let (recognised, changes) = mode.recognise(presented, client, setting).await?;
            cookies = cookies.and(changes);
            match recognised {
                Recognised::User(user) => {
                    recognition = Recognition {
                        user: Some(user),
                        refused: None,
                    };
                    break;
                }
                Recognised::Refused(refusal) => {
                    // The first refusal says why, but a refused access token outranks an
                    // ended session: a refresh may still cure it.
                    let replace = match &recognition.refused {
                        None => true,
                        Some(kept) => {
                            !kept.is_about_an_access_token() && refusal.is_about_an_access_token()
                        }
                    };
                    if replace {
                        recognition.refused = Some(refusal);
                    }
                }
                Recognised::Absent => {}
            }
        }
        Ok(Recognising {
            recognition,
            cookies,
        })
    }

    /// Confirms that the server still keeps a live record behind `current`: its session, or
    /// its JWT's refresh family. Every action that issues credentials or changes state needs
    /// the [`LiveUser`] this returns; a killed device's leftover access token gets a 401 that
    /// says the device was signed out.
    pub async fn confirm_live(&self, current: CurrentUser) -> Result<LiveUser, AppError> {
        if self.mode(current.mode).is_live(&current).await? {
            Ok(LiveUser::confirmed(current))
        } else {
            Err(AppError::InvalidToken {
                reason: Refusal::DeviceSignedOut.to_string(),
            })
        }
    }

    /// Gives `user` credentials of `mode` on this browser, as a sign-in does once the password
    /// is checked, and remembers `mode` as the browser's choice. A browser holds one sign-in:
    /// whatever it presented before, in either mode, ends first.
    pub async fn issue(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        user: &UserRecord,
        mode: Mode,
    ) -> Result<CookieChanges, AppError> {
        let ended = self.sign_out(presented).await?;
        let issued = self.mode(mode).issue(user, client).await?;
        // Later cookies replace earlier ones of the same name: the new credentials win.
        Ok(ended.and(issued).and(self.remember_mode(mode)))
    }

    /// Ends everything this browser presents, in both modes, recognised or not: its session
    /// is deleted, the refresh family its access or refresh token names is revoked (an expired
    /// token still names it), and every credential cookie is cleared.
    pub async fn sign_out(&self, presented: &Credentials) -> Result<CookieChanges, AppError> {
        let mut cookies = CookieChanges::none();
        for mode in self.modes() {
            cookies = cookies.and(mode.end(presented).await?);
        }
        Ok(cookies)
    }

    /// Ends the device of the access token a script presents (`/api/logout`), even an expired
    /// one. A token this server did not sign names no device: it is refused, so that a script
    /// learns its token is wrong instead of believing it signed out.
    pub async fn sign_out_token_holder(
        &self,
        presented: &Credentials,
    ) -> Result<CookieChanges, AppError> {
        let refused = |refusal: Refusal| AppError::InvalidToken {
            reason: refusal.to_string(),
        };
        match presented.access_token() {
            None => Err(AppError::Unauthenticated),
            Some(Err(refusal)) => Err(refused(refusal)),
            Some(Ok((token, _))) => {
                self.jwt.signed_here(token).map_err(refused)?;
                self.sign_out(presented).await
            }
        }
    }

    /// Gives this browser credentials of the other kind and ends the old ones, without asking
    /// for the password again: the request is recognised, and its record is live.
    pub async fn switch_mode(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        current: &LiveUser,
        to: Mode,
    ) -> Result<CookieChanges, AppError> {
        if current.mode == to {
            return Ok(CookieChanges::none());
        }
        let user = self.user(current).await?;
        self.issue(presented, client, &user, to).await
    }

    /// Every device of the user, whatever its mode, most recently active first.
    pub async fn devices(&self, current: &CurrentUser) -> Result<Vec<DeviceView>, AppError> {
        let now = self.clock.now();
        let mut devices = Vec::new();
        for mode in self.modes() {
            devices.extend(mode.devices(current.user_id).await?);
        }
        devices.sort_by_key(|device| {
            (
                device.revoked.is_some(),
                std::cmp::Reverse((device.last_seen_at, device.created_at)),
            )
        });
        Ok(devices
            .iter()
            .map(|device| device.view(current, now))
            .collect())
    }

    /// Ends one of the current user's devices. Another user's device, or none, is
    /// [`AppError::NotFound`] and changes nothing. Killing this browser's own device is
    /// signing out: the cookies to clear come back too.
    pub async fn kill(
        &self,
        presented: &Credentials,
        current: &LiveUser,
        device_id: &str,
    ) -> Result<(Killed, CookieChanges), AppError> {
        if device_id == current.device_id {
            let cookies = self.sign_out(presented).await?;
            let killed = Killed {
                mode: current.mode,
                access_valid_until: None,
            };
            return Ok((killed, cookies));
        }
        for mode in self.modes() {
            if let Some(killed) = mode.kill(current.user_id, device_id).await? {
                return Ok((killed, CookieChanges::none()));
            }
        }
        Err(AppError::NotFound)
    }

    /// Ends every device of the current user except this one; returns how many ended.
    pub async fn kill_others(&self, current: &LiveUser) -> Result<u64, AppError> {
        let mut ended = 0;
        for mode in self.modes() {
            let keep = (mode.mode() == current.mode).then_some(current.device_id.as_str());
            ended += mode.kill_all_except(current.user_id, keep).await?;
        }
        Ok(ended)
    }

    /// Ends every device of the current user, this one included.
    pub async fn kill_all(
        &self,
        presented: &Credentials,
        current: &LiveUser,
    ) -> Result<(u64, CookieChanges), AppError> {
        let others = self.kill_others(current).await?;
        let cookies = self.sign_out(presented).await?;
        Ok((others + 1, cookies))
    }

    /// The mode this browser chose last, or the cookie session.
    pub fn remembered_mode(&self, presented: &Credentials) -> Mode {
        presented.mode_choice.unwrap_or(Mode::Session)
    }

    fn remember_mode(&self, mode: Mode) -> CookieChanges {
        let scope = CookieScope {
            path: "/",
            same_site: SameSite::Lax,
            secure: self.secure_cookies,
        };
        CookieChanges::none().set(credential_cookie(
            MODE_CHOICE_COOKIE,
            mode.key().to_owned(),
            scope,
            Some(365 * 86_400),
        ))
    }

    // The JWT mode's own operations: refresh, and tokens for the JSON API.

    /// Starts a JWT family for `user` and hands out its tokens (the JSON API's sign-in).
    pub async fn start_jwt(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
    ) -> Result<TokenPair, AppError> {
        self.jwt.start(user, client).await
    }

    /// Exchanges a refresh token for a new pair.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        self.jwt.refresh(refresh_token, client).await
    }

    /// The browser refresh: the new pair's cookies, or why not with the cookies cleared.
    pub async fn refresh_browser(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
    ) -> Result<Result<CookieChanges, (RefreshRefusal, CookieChanges)>, AppError> {
        let token = presented.refresh.as_deref().unwrap_or_default();
        Ok(match self.jwt.refresh(token, client).await? {
            Ok(pair) => Ok(self.jwt.cookies_for(&pair)),
            Err(refusal) if refusal.signs_out() => Err((refusal, self.jwt.forget_cookies())),
            Err(refusal) => Err((refusal, CookieChanges::none())),
        })
    }

    // What the app shows about itself (`inspect`) reads through these.

    pub fn session_settings(&self) -> SessionSettings {
        self.session.settings()
    }

    pub fn jwt_settings(&self) -> JwtSettings {
        self.jwt.settings()
    }

    /// The current key and the rules an access token is decoded with, for measuring what
    /// `jsonwebtoken::decode` alone costs (the compare page's floor).
    pub fn jwt_decoding(
        &self,
        now: i64,
    ) -> Option<(&jsonwebtoken::DecodingKey, &jsonwebtoken::Validation)> {
        self.jwt.decoding(now)
    }

    /// The live session a request presents, as its store keeps it.
    pub async fn session_record(
        &self,
        presented: &Credentials,
    ) -> Result<Option<SessionRow>, AppError> {
        self.session.record(presented).await
    }

    /// The current user's JWT family and its tokens.
    pub async fn jwt_family(
        &self,
        current: &CurrentUser,
    ) -> Result<Option<(Device, Vec<TokenRow>)>, AppError> {
        self.jwt.family_of(current).await
    }

    /// A genuinely signed copy of this own token that must still be refused (the playground).
    pub fn refused_copy(&self, token: &str, copy: jwt::RefusedCopy) -> Result<String, AppError> {
        self.jwt.refused_copy(token, copy)
    }

    /// Revoked token ids on this server's denylist, and the bytes they take.
    pub fn denylist_footprint(&self) -> (usize, usize) {
        self.jwt.denylist().footprint()
    }

    /// A session for `user` outside any browser (the load generator, the playground): its ID,
    /// as a cookie would present it, and its public id.
    pub async fn open_session(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
    ) -> Result<(String, String), AppError> {
        let (id, device) = self.session.open(user, client).await?;
        Ok((id.to_string(), device))
    }

    /// Ends a session by its public id; `false` if the user had no such session.
    pub async fn end_session(&self, user_id: i64, device_id: &str) -> Result<bool, AppError> {
        self.session.end_device(user_id, device_id).await
    }

    /// Revokes a JWT family and puts its access tokens on the denylist, whatever this server's
    /// setting (the kill drill measures the denylist column too). Returns until when its last
    /// access token is valid.
    pub async fn revoke_and_deny(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<i64>, AppError> {
        let Some(family) = self.jwt.revoke(user_id, device_id, reason).await? else {
            return Ok(None);
        };
        self.jwt.deny_family(family.id).await?;
        Ok(Some(family.access_expires_at))
    }

    /// Removes a JWT family without a trace.
    pub async fn delete_jwt_family(&self, device_id: &str) -> Result<bool, AppError> {
        self.jwt.delete_family(device_id).await
    }

    /// The user behind a recognised request, as stored.
    pub async fn user(&self, current: &CurrentUser) -> Result<UserRecord, AppError> {
        self.db
            .user_by_id(current.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)
    }

    /// The sweeper: deletes every expired session and every wholly expired refresh family;
    /// returns how many, and forgets old throttle records.
    pub async fn sweep_expired(&self) -> Result<u64, AppError> {
        let now = self.clock.now();
        self.throttle.sweep(now);
        self.sign_up_throttle.sweep(now);
        let sessions = self.session.delete_expired().await?;
        let families = self.db.delete_expired_families(now).await?;
        Ok(sessions + families)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
