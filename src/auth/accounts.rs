//! Signing up and signing in: input rules, password checks, then the chosen mode's credentials.

use super::{
    Auth, CookieChanges, Credentials,
    password::{Password, Passwords},
};
use crate::{
    core::client::ClientInfo,
    db::UserRecord,
    error::{AppError, FieldError},
    model::Mode,
};

pub const MIN_USERNAME_CHARS: usize = 3;
pub const MAX_USERNAME_CHARS: usize = 32;

/// 3 to 32 characters of `a-z`, `0-9`, `_`, `.`, `-`; letters in either case, compared without it.
pub fn check_username(username: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if let Some(bad) = username.chars().find(|c| !allowed(*c)) {
        let shown = if bad.is_whitespace() {
            "spaces".to_string()
        } else {
            format!("“{bad}”")
        };
        return Err(format!(
            "Use only letters a–z, digits, “_”, “.” and “-” ({shown} not allowed)."
        ));
    }
    let length = username.len();
    if length < MIN_USERNAME_CHARS {
        return Err(format!("Use at least {MIN_USERNAME_CHARS} characters."));
    }
    if length > MAX_USERNAME_CHARS {
        return Err(format!("Use at most {MAX_USERNAME_CHARS} characters."));
    }
    Ok(())
}

/// What a sign-in form chose besides the password: the mode (none: the one this browser chose
/// last) and whether to "Remember me".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInChoice {
    pub mode: Option<Mode>,
    pub remember: bool,
}

impl SignInChoice {
    /// The form's choices. The `remember` box is unticked when absent, `off` or `false`, and
    /// ticked when `on` (what a browser sends) or `true`; anything else is refused, naming it.
    pub fn from_form(mode: Option<Mode>, remember: Option<&str>) -> Result<Self, AppError> {
        let remember = match remember.map(str::trim) {
            None | Some("" | "off" | "false") => false,
            Some("on" | "true") => true,
            Some(_) => {
                return Err(AppError::invalid(
                    "remember",
                    "“Remember me” is either on or off.",
                ));
            }
        };
        Ok(SignInChoice { mode, remember })
    }
}

impl Auth {
    /// Creates an account. Every field is checked before any is acted on, so a form shows all
    /// its errors at once; nothing is written unless all are right.
    /// Each account costs a password hash, so a network may create only so many
    /// (`SIGN_UPS_PER_NETWORK`); the count is taken just before hashing.
    pub async fn create_account(
        &self,
        client_ip: &str,
        username: &str,
        password: String,
    ) -> Result<UserRecord, AppError> {
        let mut fields = Vec::new();
        if let Err(message) = check_username(username) {
            fields.push(FieldError {
                field: "username".into(),
                message,
            });
        }
        let password = match Password::new_choice(password) {
            Ok(password) => Some(password),
            Err(AppError::Invalid { fields: mut more }) => {
                fields.append(&mut more);
                None
            }
            Err(other) => return Err(other),
        };
        let Some(password) = password.filter(|_| fields.is_empty()) else {
            return Err(AppError::Invalid { fields });
        };
        // Cheap refusal before the expensive hash; the unique index still decides races.
        if self.db.user_by_username(username).await?.is_some() {
            return Err(AppError::UsernameTaken);
        }
        self.sign_up_throttle.admit(client_ip, self.clock.now())?;
        let hash = self.passwords.hash(&password).await?;
        self.db
            .insert_user(username, &hash, self.clock.now())
            .await?
            .ok_or(AppError::UsernameTaken)?;
        self.db
            .user_by_username(username)
            .await?
            .ok_or(AppError::Internal)
    }

    /// The account a username and password belong to, tried from `client`. Whether the
    /// username exists or the password is wrong, the answer and its cost are the same; after
    /// too many failures the attempt is refused before any hashing (see [`super::throttle`]).
    /// A wrong password for an account that exists goes on that account's log; a hash made
    /// with weaker parameters than today's is replaced once the password is known.
    pub async fn check_credentials(
        &self,
        client: &ClientInfo,
        username: &str,
        password: String,
    ) -> Result<UserRecord, AppError> {
        let attempt = self
            .throttle
            .begin(&client.ip, username, self.clock.now())
            .await?;
        let Ok(password) = Password::for_sign_in(password) else {
            attempt.failed();
            return Err(AppError::InvalidCredentials);
        };
        // A username that breaks the rules cannot exist; it still pays for a verification.
        let user = if check_username(username).is_ok() {
            self.db.user_by_username(username).await?
        } else {
            None
        };
        let phc = user.as_ref().map(|user| user.password_hash.as_str());
        // A busy hasher returns early here, and the unsettled attempt is taken back.
        let verified = self.passwords.verify(&password, phc).await?;
        match user {
            Some(mut user) if verified => {
                attempt.succeeded().await;
                if let Some(upgraded) = self.upgrade_hash(&user, &password).await {
                    user.password_hash = upgraded;
                }
                Ok(user)
            }
            Some(user) => {
                attempt.failed();
                self.activity.failed_sign_in(user.id, &client.ip).await?;
                Err(AppError::InvalidCredentials)
            }
            None => {
                attempt.failed();
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Rehashes `password` with today's parameters when `user`'s stored hash is weaker, and
    /// returns the new hash once stored. Best effort: a busy hasher or a failed write leaves
    /// the old hash for the next sign-in, and a password changed meanwhile keeps its new hash.
    async fn upgrade_hash(&self, user: &UserRecord, password: &Password) -> Option<String> {
        if !Passwords::is_weaker_than_today(&user.password_hash) {
            return None;
        }
        let hash = match self.passwords.hash(password).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(%error, "a weaker password hash was not upgraded");
                return None;
            }
        };
        match self
            .db
            .replace_password_hash(user.id, &user.password_hash, &hash, None)
            .await
        {
            Ok(true) => Some(hash),
            Ok(false) => None,
            Err(error) => {
                tracing::warn!(%error, "a weaker password hash was not upgraded");
                None
            }
        }
    }

    /// Creates an account and signs this browser in to it with `mode`, or the mode it chose
    /// last, remembered or not.
    pub async fn sign_up(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        username: &str,
        password: String,
        choice: SignInChoice,
    ) -> Result<CookieChanges, AppError> {
        let user = self.create_account(&client.ip, username, password).await?;
        // Under the account's turn, like every issue: no role change can land in between.
        let _turn = self.turn(user.id).await?;
        let mode = choice
            .mode
            .unwrap_or_else(|| self.remembered_mode(presented));
        let issued = self
            .issue(presented, client, &user, mode, choice.remember)
            .await?;
        self.record_sign_in(user.id, client, mode, &issued.device_id)
            .await?;
        Ok(issued.cookies)
    }

    /// Checks a username and password and signs this browser in with `mode`, or the mode it
    /// chose last, remembered or not.
    pub async fn log_in(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        username: &str,
        password: String,
        choice: SignInChoice,
    ) -> Result<CookieChanges, AppError> {
        let user = self.check_credentials(client, username, password).await?;
        let mode = choice
            .mode
            .unwrap_or_else(|| self.remembered_mode(presented));
        let issued = self
            .sign_in_device(presented, client, &user, mode, choice.remember)
            .await?;
        self.record_sign_in(user.id, client, mode, &issued.device_id)
            .await?;
        Ok(issued.cookies)
    }
}

#[cfg(test)]
mod tests {
    use super::check_username;

    #[test]
    fn usernames_follow_the_rules() {
        for good in ["abc", "Alice", "a.b-c_d", "x".repeat(32).as_str(), "007"] {
            assert!(check_username(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "",
            "with space",
            "émile",
            "a/b",
            "x".repeat(33).as_str(),
            "tab\t",
        ] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
    }
}
