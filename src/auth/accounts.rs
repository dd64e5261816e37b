//! Signing up and signing in: input rules, password checks, then the chosen mode's credentials.

use super::{Auth, CookieChanges, Credentials, password::Password};
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

    /// The account a username and password belong to, tried from `client_ip`. Whether the
    /// username exists or the password is wrong, the answer and its cost are the same; after
    /// too many failures the attempt is refused before any hashing (see [`super::throttle`]).
    pub async fn check_credentials(
        &self,
        client_ip: &str,
        username: &str,
        password: String,
    ) -> Result<UserRecord, AppError> {
        let attempt = self.throttle.begin(client_ip, username, self.clock.now())?;
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
        match user.filter(|_| verified) {
            Some(user) => {
                attempt.succeeded();
                Ok(user)
            }
            None => {
                attempt.failed();
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Creates an account and signs this browser in to it with `mode`, or the mode it chose
    /// last.
    pub async fn sign_up(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        username: &str,
        password: String,
        mode: Option<Mode>,
    ) -> Result<CookieChanges, AppError> {
        let user = self.create_account(&client.ip, username, password).await?;
        let mode = mode.unwrap_or_else(|| self.remembered_mode(presented));
        self.issue(presented, client, &user, mode).await
    }

    /// Checks a username and password and signs this browser in with `mode`, or the mode it
    /// chose last.
    pub async fn log_in(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        username: &str,
        password: String,
        mode: Option<Mode>,
    ) -> Result<CookieChanges, AppError> {
        let user = self
            .check_credentials(&client.ip, username, password)
            .await?;
        let mode = mode.unwrap_or_else(|| self.remembered_mode(presented));
        self.issue(presented, client, &user, mode).await
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
