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
pub mod activity;
pub mod admin;
pub mod cookies;
pub mod credentials;
pub mod jwt;
pub mod mode;
pub mod password;
pub mod policy;
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
    model::{
        ActivityDetail, ActivityKind, DeviceView, Killed, Mode, PasswordChanged, Revocation,
        RevocationReason, SessionFootprint, TheftDrillReport,
    },
};
pub use accounts::SignInChoice;
use activity::{About, ActivityLog};
pub use cookies::CookieChanges;
use cookies::{CookieScope, credential_cookie, removal};
pub use credentials::Credentials;
use credentials::{MODE_CHOICE_COOKIE, SIGNED_OUT_COOKIE};
use jwt::{
    JwtMode, JwtSettings,
    refresh::{RefreshRefusal, TokenPair},
};
pub use mode::{AuthMode, Ended, Issued};
use password::Passwords;
use session::{SessionMode, SessionSettings};
use throttle::{SignInThrottle, SignUpThrottle};
pub use user::{CurrentUser, Device, LiveUser, Recognised, Recognition, Refusal};

/// The 401 of a device whose server-side record has ended.
fn signed_out() -> AppError {
    AppError::InvalidToken {
        reason: Refusal::DeviceSignedOut.to_string(),
    }
}

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
    activity: ActivityLog,
    /// One sign-in at a time per account, so that the device policy holds (`policy.rs`).
    turns: Arc<policy::Turns>,
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
        activity: ActivityLog,
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
            activity,
            turns: Arc::default(),
        }
    }

    /// The account's activity log.
    pub fn activity(&self) -> &ActivityLog {
        &self.activity
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
        // The session cookie is gone, but why it ended is remembered for a little while.
        if recognition.user.is_none()
            && recognition.refused.is_none()
            && let Some(reason) = presented.signed_out
        {
            recognition.refused = Some(Refusal::SessionEnded(reason));
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
            Err(signed_out())
        }
    }

    /// Gives `user` credentials of `mode` on this browser, as a sign-in does once the password
    /// is checked, with the lifetimes of "Remember me" or without, and remembers `mode` as the
    /// browser's choice. A browser holds one sign-in: whatever it presented before, in either
    /// mode, ends first.
    pub async fn issue(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        user: &UserRecord,
        mode: Mode,
        remembered: bool,
    ) -> Result<Issued, AppError> {
        let ended = self.sign_out(presented).await?;
        let issued = self.mode(mode).issue(user, client, remembered).await?;
        // Later cookies replace earlier ones of the same name: the new credentials win. Why an
        // earlier session ended is old news now.
        let forget_why = CookieChanges::none().set(removal(SIGNED_OUT_COOKIE, self.note_scope()));
        Ok(Issued {
            cookies: ended
                .and(issued.cookies)
                .and(self.remember_mode(mode))
                .and(forget_why),
            device_id: issued.device_id,
        })
    }

    /// Writes "signed in" on the user's log, about the device just issued.
    async fn record_sign_in(
        &self,
        user_id: i64,
        client: &ClientInfo,
        mode: Mode,
        device_id: &str,
    ) -> Result<(), AppError> {
        let about = About {
            device_id,
            mode,
            device: &client.device,
        };
        self.activity
            .record(
                user_id,
                ActivityKind::SignedIn,
                Some(about),
                &client.ip,
                &ActivityDetail::default(),
            )
            .await
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

    /// Signs this browser out (see [`Auth::sign_out`]) and writes it on the log of the user it
    /// was recognised as, if any.
    pub async fn log_out(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        recognised: Option<&CurrentUser>,
    ) -> Result<CookieChanges, AppError> {
        let cookies = self.sign_out(presented).await?;
        if let Some(user) = recognised {
            self.record_sign_out(user, client).await?;
        }
        Ok(cookies)
    }

    async fn record_sign_out(
        &self,
        user: &CurrentUser,
        client: &ClientInfo,
    ) -> Result<(), AppError> {
        let about = About {
            device_id: &user.device_id,
            mode: user.mode,
            device: &client.device,
        };
        self.activity
            .record(
                user.user_id,
                ActivityKind::SignedOut,
                Some(about),
                &client.ip,
                &ActivityDetail::default(),
            )
            .await
    }

    /// Ends the device of the access token a script presents (`/api/logout`), even an expired
    /// one. A token this server did not sign names no device: it is refused, so that a script
    /// learns its token is wrong instead of believing it signed out.
    pub async fn sign_out_token_holder(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
    ) -> Result<CookieChanges, AppError> {
        let refused = |refusal: Refusal| AppError::InvalidToken {
            reason: refusal.to_string(),
        };
        match presented.access_token() {
            None => Err(AppError::Unauthenticated),
            Some(Err(refusal)) => Err(refused(refusal)),
            Some(Ok((token, _))) => {
                let (user_id, device_id) = self.jwt.signed_here(token).map_err(refused)?;
                let cookies = self.sign_out(presented).await?;
                if let Some(user_id) = user_id {
                    let about = About {
                        device_id: &device_id,
                        mode: Mode::Jwt,
                        device: &client.device,
                    };
                    self.activity
                        .record(
                            user_id,
                            ActivityKind::SignedOut,
                            Some(about),
                            &client.ip,
                            &ActivityDetail::default(),
                        )
                        .await?;
                }
                Ok(cookies)
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
        // New credentials only for a device that is still live at this moment: a browser
        // ended meanwhile (a kill, a password change) must not switch its way back in. The
        // account is read under its turn too: an administrator's role change is not undone.
        let _turn = self.turn(current.user_id).await?;
        if !self.still_live(presented, current).await? {
            return Err(signed_out());
        }
        let user = self.user(current).await?;
        let remembered = self.is_remembered(current).await?;
        let issued = self.issue(presented, client, &user, to, remembered).await?;
        let about = About {
            device_id: &issued.device_id,
            mode: to,
            device: &client.device,
        };
        let detail = ActivityDetail {
            to_mode: Some(to),
            ..ActivityDetail::default()
        };
        self.activity
            .record(
                user.id,
                ActivityKind::ModeSwitched,
                Some(about),
                &client.ip,
                &detail,
            )
            .await?;
        Ok(issued.cookies)
    }

    /// Every device of the user, whatever its mode, most recently active first.
    pub async fn devices(&self, current: &CurrentUser) -> Result<Vec<DeviceView>, AppError> {
        let now = self.clock.now();
        Ok(self
            .devices_of(current.user_id)
            .await?
            .iter()
            .map(|device| device.view(Some(current), now))
            .collect())
    }

    /// The user's devices in both modes: live ones most recently active first, then revoked
    /// JWT devices whose last access token has not expired.
    async fn devices_of(&self, user_id: i64) -> Result<Vec<Device>, AppError> {
        let mut devices = Vec::new();
        for mode in self.modes() {
            devices.extend(mode.devices(user_id).await?);
        }
        devices.sort_by_key(|device| {
            (
                device.revoked.is_some(),
                std::cmp::Reverse((device.last_seen_at, device.created_at)),
            )
        });
        Ok(devices)
    }

    /// Whether the current device was signed in with "Remember me": what its replacement
    /// keeps when it switches mode or changes the password.
    async fn is_remembered(&self, current: &CurrentUser) -> Result<bool, AppError> {
        Ok(self
            .devices_of(current.user_id)
            .await?
            .iter()
            .any(|device| {
                device.mode == current.mode && device.id == current.device_id && device.remembered
            }))
    }

    /// Ends the user's live device `device_id`, for `reason`: what it was (for the log) and
    /// what ending it did; `None` when the user has no such live device.
    async fn end_device_of(
        &self,
        user_id: i64,
        device_id: &str,
        reason: RevocationReason,
    ) -> Result<Option<(Device, Killed)>, AppError> {
        // What the log will call it, read before it goes.
        let Some(target) = self
            .devices_of(user_id)
            .await?
            .into_iter()
            .find(|device| device.id == device_id && device.revoked.is_none())
        else {
            return Ok(None);
        };
        let killed = self
            .mode(target.mode)
            .kill(user_id, device_id, reason)
            .await?;
        Ok(killed.map(|killed| (target, killed)))
    }

    /// Ends one of the current user's devices. Another user's device, or none, is
    /// [`AppError::NotFound`] and changes nothing. Killing this browser's own device is
    /// signing out: the cookies to clear come back too.
    pub async fn kill(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        current: &LiveUser,
        device_id: &str,
    ) -> Result<(Killed, CookieChanges), AppError> {
        if device_id == current.device_id {
            let cookies = self.log_out(presented, client, Some(current)).await?;
            let killed = Killed {
                mode: current.mode,
                access_valid_until: None,
            };
            return Ok((killed, cookies));
        }
        let Some((target, killed)) = self
            .end_device_of(current.user_id, device_id, RevocationReason::Killed)
            .await?
        else {
            return Err(AppError::NotFound);
        };
        let about = About {
            device_id,
            mode: killed.mode,
            device: &target.device,
        };
        let detail = ActivityDetail {
            by_device: Some(client.device.clone()),
            by_device_id: Some(current.device_id.clone()),
            access_valid_until: killed.access_valid_until.as_ref().map(|until| until.unix),
            ..ActivityDetail::default()
        };
        self.activity
            .record(
                current.user_id,
                ActivityKind::DeviceKilled,
                Some(about),
                &client.ip,
                &detail,
            )
            .await?;
        Ok((killed, CookieChanges::none()))
    }

    /// Ends every device of the user except this browser's, for `reason`, in both modes.
    async fn end_other_devices(
        &self,
        current: &CurrentUser,
        reason: RevocationReason,
    ) -> Result<Ended, AppError> {
        let mut ended = Ended::default();
        for mode in self.modes() {
            let keep = (mode.mode() == current.mode).then_some(current.device_id.as_str());
            ended = ended.and(mode.kill_all_except(current.user_id, keep, reason).await?);
        }
        Ok(ended)
    }

    /// Ends every device of the current user except this one; returns how many ended.
    pub async fn kill_others(
        &self,
        client: &ClientInfo,
        current: &LiveUser,
    ) -> Result<u64, AppError> {
        let ended = self
            .end_other_devices(current, RevocationReason::Killed)
            .await?;
        if ended.count > 0 {
            let detail = ActivityDetail {
                by_device: Some(client.device.clone()),
                by_device_id: Some(current.device_id.clone()),
                ended: Some(ended.count),
                access_valid_until: ended.access_valid_until,
                ..ActivityDetail::default()
            };
            self.activity
                .record(
                    current.user_id,
                    ActivityKind::DeviceKilled,
                    None,
                    &client.ip,
                    &detail,
                )
                .await?;
        }
        Ok(ended.count)
    }

    /// Ends every device of the current user, this one included.
    pub async fn kill_all(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        current: &LiveUser,
    ) -> Result<(u64, CookieChanges), AppError> {
        let others = self.kill_others(client, current).await?;
        let cookies = self.log_out(presented, client, Some(current)).await?;
        Ok((others + 1, cookies))
    }

    /// Changes the user's password, after checking the current one (throttled like a sign-in),
    /// then ends every other device in both modes and gives this browser fresh credentials.
    pub async fn change_password(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        current: &LiveUser,
        current_password: String,
        new_password: String,
    ) -> Result<(PasswordChanged, CookieChanges), AppError> {
        // The new password's rules first: a typo there costs no attempt and no hashing.
        let new_password = password::Password::new_choice(new_password)
            .map_err(|error| error.renaming_field("password", "new_password"))?;
        let user = self.user(current).await?;
        let wrong = || AppError::invalid("current_password", "This is not your current password.");
        let attempt = self
            .throttle
            .begin(&client.ip, &user.username, self.clock.now())
            .await?;
        let Ok(typed) = password::Password::for_sign_in(current_password) else {
            attempt.failed();
            return Err(wrong());
        };
        if !self
            .passwords
            .verify(&typed, Some(&user.password_hash))
            .await?
        {
            attempt.failed();
            self.activity.failed_sign_in(user.id, &client.ip).await?;
            return Err(wrong());
        }
        attempt.succeeded().await;
        let hash = self.passwords.hash(&new_password).await?;
        // From here the account's turn is held: no sign-in, switch or other change of the
        // account can slip in between the new hash and the devices it ends.
        let _turn = self.turn(user.id).await?;
        if !self.still_live(presented, current).await? {
            return Err(signed_out());
        }
        if !self
            .db
            .replace_password_hash(user.id, &user.password_hash, &hash, Some(self.clock.now()))
            .await?
        {
            // Another change won the race: what was typed is no longer the current password.
            return Err(AppError::invalid(
                "current_password",
                "Your password was changed a moment ago: type the new one.",
            ));
        }
        let ended = self
            .end_other_devices(current, RevocationReason::PasswordChanged)
            .await?;
        // This browser's old credentials end too; it gets new ones of the same mode, for the
        // account as it now stands.
        let user = self.user(current).await?;
        let remembered = self.is_remembered(current).await?;
        let issued = self
            .issue(presented, client, &user, current.mode, remembered)
            .await?;
        let about = About {
            device_id: &issued.device_id,
            mode: current.mode,
            device: &client.device,
        };
        let detail = ActivityDetail {
            by_device: Some(client.device.clone()),
            by_device_id: Some(issued.device_id.clone()),
            ended: Some(ended.count),
            access_valid_until: ended.access_valid_until,
            ..ActivityDetail::default()
        };
        self.activity
            .record(
                user.id,
                ActivityKind::PasswordChanged,
                Some(about),
                &client.ip,
                &detail,
            )
            .await?;
        let now = self.clock.now();
        let changed = PasswordChanged {
            ended: ended.count,
            access_valid_until: ended
                .access_valid_until
                .filter(|until| *until > now)
                .map(|until| crate::model::Moment::at(until, now)),
        };
        Ok((changed, issued.cookies))
    }

    /// The mode this browser chose last, or the cookie session.
    pub fn remembered_mode(&self, presented: &Credentials) -> Mode {
        presented.mode_choice.unwrap_or(Mode::Session)
    }

    /// Where the cookies that are notes rather than credentials live (the mode chosen last,
    /// why a session ended): the whole site, sent with top-level navigations.
    fn note_scope(&self) -> CookieScope {
        CookieScope {
            path: "/",
            same_site: SameSite::Lax,
            secure: self.secure_cookies,
        }
    }

    fn remember_mode(&self, mode: Mode) -> CookieChanges {
        CookieChanges::none().set(credential_cookie(
            MODE_CHOICE_COOKIE,
            mode.key().to_owned(),
            self.note_scope(),
            Some(365 * 86_400),
        ))
    }

    // The JWT mode's own operations: refresh, and tokens for the JSON API.

    /// Starts a remembered JWT family for `user` and hands out its tokens (the compare page's
    /// load devices).
    pub async fn start_jwt(
        &self,
        user: &UserRecord,
        client: &ClientInfo,
    ) -> Result<TokenPair, AppError> {
        self.jwt.start(user, client, true).await
    }

    /// Exchanges a refresh token for a new pair.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<Result<TokenPair, RefreshRefusal>, AppError> {
        let outcome = self.jwt.refresh(refresh_token, client).await?;
        if let Err(RefreshRefusal::Reused) = outcome {
            self.record_reuse(refresh_token, client, false).await?;
        }
        Ok(outcome)
    }

    /// Writes "refresh-token reuse detected" on the log of the family's owner.
    async fn record_reuse(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
        drill: bool,
    ) -> Result<(), AppError> {
        let Some(family) = self.jwt.family_of_refresh_token(refresh_token).await? else {
            return Ok(());
        };
        let about = About {
            device_id: &family.public_id,
            mode: Mode::Jwt,
            device: &family.device,
        };
        let detail = ActivityDetail {
            access_valid_until: self.jwt.access_tail(family.access_expires_at),
            drill: drill.then_some(true),
            ..ActivityDetail::default()
        };
        self.activity
            .record(
                family.user_id,
                ActivityKind::RefreshReuse,
                Some(about),
                &client.ip,
                &detail,
            )
            .await
    }

    /// The browser refresh: the new pair's cookies, or why not with the cookies cleared.
    pub async fn refresh_browser(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
    ) -> Result<Result<CookieChanges, (RefreshRefusal, CookieChanges)>, AppError> {
        let token = presented.refresh.as_deref().unwrap_or_default();
        Ok(match self.refresh(token, client).await? {
            Ok(pair) => Ok(self.jwt.cookies_for(&pair)),
            Err(refusal) if refusal.signs_out() => Err((refusal, self.jwt.forget_cookies())),
            Err(refusal) => Err((refusal, CookieChanges::none())),
        })
    }

    /// The theft drill: this browser's refresh token is exchanged as its owner would, then the
    /// spent token is replayed as a thief would (the grace window skipped, and said so), then the
    /// owner tries the token just received. Only this browser's own current family can be
    /// drilled: the token comes from its cookie, and must belong to the device it is signed in as.
    pub async fn theft_drill(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        current: &LiveUser,
    ) -> Result<TheftDrillReport, AppError> {
        if current.mode != Mode::Jwt {
            return Err(AppError::invalid(
                "mode",
                "The theft drill needs JWT mode: switch from the header first.",
            ));
        }
        let token = presented.refresh.as_deref().unwrap_or_default();
        let family = self.jwt.family_of_refresh_token(token).await?;
        if family.is_none_or(|family| family.public_id != current.device_id) {
            return Err(AppError::invalid(
                "refresh",
                "This browser holds no refresh token of the device it is signed in as.",
            ));
        }
        // Through `Auth::refresh`: a token a real thief already spent is logged as reuse.
        let owner = self
            .refresh(token, client)
            .await?
            .map_err(RefreshRefusal::into_error)?;
        let thief = self.jwt.replay_without_grace(token, client).await?;
        let reuse_detected = matches!(thief, Err(RefreshRefusal::Reused));
        if reuse_detected {
            self.record_reuse(token, client, true).await?;
        }
        let owner_next = self.jwt.refresh(&owner.refresh_token, client).await?;
        let refusal = |outcome: Result<TokenPair, RefreshRefusal>| match outcome {
            Ok(_) => "accepted".to_owned(),
            Err(refusal) => refusal.into_error().to_string(),
        };
        let now = self.clock.now();
        let access_valid_until = match self.revocation() {
            Revocation::Pure => presented
                .access_token()
                .and_then(Result::ok)
                .and_then(|(token, _)| self.jwt.expiry_of(token))
                .filter(|exp| *exp > now)
                .map(|exp| crate::model::Moment::at(exp, now)),
            Revocation::SessionCheck | Revocation::Denylist => None,
        };
        Ok(TheftDrillReport {
            thief_refused: refusal(thief),
            owner_refused: refusal(owner_next),
            grace_seconds: self.jwt.grace(),
            reuse_detected,
            access_valid_until,
        })
    }

    /// A script's sign-in (`POST /api/token`): checks the password, starts a JWT family and
    /// writes the sign-in on the log.
    pub async fn sign_in_for_tokens(
        &self,
        client: &ClientInfo,
        username: &str,
        password: String,
    ) -> Result<TokenPair, AppError> {
        let user = self.check_credentials(client, username, password).await?;
        let pair = self.start_jwt_device(client, &user).await?;
        self.record_sign_in(user.id, client, Mode::Jwt, &pair.device_id)
            .await?;
        Ok(pair)
    }

    // What the app shows about itself (`inspect`) reads through these.

    /// Whether the database and the session store answer now (`/readyz`).
    pub async fn readiness(&self) -> (bool, bool) {
        let database = self.db.ping().await.is_ok();
        let store = self.ping_session_store().await.is_ok();
        (database, store)
    }

    /// One bare round trip to the session store (a Redis PING; nothing for memory).
    pub async fn ping_session_store(&self) -> Result<(), AppError> {
        self.session.ping().await
    }

    /// What the session store spends per session (the compare page).
    pub async fn session_footprint(&self) -> Result<SessionFootprint, AppError> {
        self.session.footprint().await
    }

    pub fn session_settings(&self) -> SessionSettings {
        self.session.settings()
    }

    /// The public keys that verify this server's access tokens (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        self.jwt.jwks()
    }

    pub fn jwt_settings(&self) -> JwtSettings {
        self.jwt.settings()
    }

    /// The current key and the rules an access token is decoded with, for measuring what
    /// `jsonwebtoken::decode` alone costs (the compare page's floor).
    pub fn jwt_decoding(
        &self,
        now: i64,
    ) -> Option<(jsonwebtoken::DecodingKey, jsonwebtoken::Validation)> {
        self.jwt.decoding(now)
    }

    /// The JWT mode, for what only it does (its key ring in the database).
    pub fn jwt(&self) -> &JwtMode {
        &self.jwt
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
        let (id, device) = self.session.open(user, client, true).await?;
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
        let entries = self.activity.sweep().await?;
        Ok(sessions + families + entries)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
