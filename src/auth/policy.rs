//! The account's device policy: how many devices may be signed in at once, enforced at each
//! sign-in.
//!
//! A sign-in counts the account's live devices in both modes (leaving out whatever this
//! browser itself held, which the sign-in replaces), then refuses or ends the least recently
//! active ones, then issues, all while holding the account's turn: two sign-ins of one account
//! at once are decided one after the other, so they never leave more live devices than the
//! limit. The turn is a lock in this process and, on PostgreSQL, the account's lock in the
//! database, so that sign-ins on different servers wait for each other too.

use tokio::sync::{Mutex, MutexGuard};

use super::{Auth, Credentials, Device, LiveUser, activity::About, mode::Issued};
use crate::{
    core::client::ClientInfo,
    db::{AccountLock, Db, UserRecord},
    error::AppError,
    model::{
        ActivityDetail, ActivityKind, DEVICE_LIMITS, DevicePolicy, Mode, RevocationReason, WhenFull,
    },
};

/// Accounts share this many locks (by id): enough that unrelated sign-ins rarely wait for each
/// other, and a fixed amount of memory whatever the number of accounts.
const TURNS: usize = 64;

/// One lock per slot of accounts.
pub struct Turns([Mutex<()>; TURNS]);

impl Default for Turns {
    fn default() -> Self {
        Turns(std::array::from_fn(|_| Mutex::new(())))
    }
}

/// An account's turn, held until dropped: this server's lock, then the database's.
pub(super) struct Turn<'a> {
    _here: MutexGuard<'a, ()>,
    _everywhere: AccountLock,
}

impl Turns {
    /// Waits for the account's turn. This server's lock comes first: sign-ins queued here
    /// hold no database connection while they wait.
    async fn of<'a>(&'a self, db: &Db, user_id: i64) -> Result<Turn<'a>, AppError> {
        let here = self.0[user_id.rem_euclid(TURNS as i64) as usize]
            .lock()
            .await;
        let everywhere = db.hold_account(user_id).await?;
        Ok(Turn {
            _here: here,
            _everywhere: everywhere,
        })
    }
}

/// The policy a form or API call asks for, checked: `policy` is `unlimited`, `one` or
/// `at_most`, which takes `limit` (2 to 10) and `when_full` (`refuse`, `end_least_recent`).
pub fn parse_device_policy(
    policy: &str,
    limit: Option<&str>,
    when_full: Option<&str>,
) -> Result<DevicePolicy, AppError> {
    match policy {
        "unlimited" => Ok(DevicePolicy::Unlimited),
        "one" => Ok(DevicePolicy::OneDevice),
        "at_most" => {
            let limit = limit
                .and_then(|limit| limit.trim().parse::<u8>().ok())
                .filter(|limit| DEVICE_LIMITS.contains(limit));
            let when_full = when_full.and_then(WhenFull::from_key);
            let mut fields = Vec::new();
            if limit.is_none() {
                fields.push(crate::error::FieldError {
                    field: "limit".into(),
                    message: format!(
                        "Choose from {} to {} devices.",
                        DEVICE_LIMITS.start(),
                        DEVICE_LIMITS.end()
                    ),
                });
            }
            if when_full.is_none() {
                fields.push(crate::error::FieldError {
                    field: "when_full".into(),
                    message: "Choose what a sign-in beyond the limit does.".into(),
                });
            }
            match (limit, when_full) {
                (Some(limit), Some(when_full)) => Ok(DevicePolicy::AtMost { limit, when_full }),
                _ => Err(AppError::Invalid { fields }),
            }
        }
        _ => Err(AppError::invalid(
            "policy",
            "Choose any number of devices, one device, or at most a number of them.",
        )),
    }
}

impl Auth {
    /// When the user last changed their password, if ever.
    pub async fn password_changed_at(&self, user_id: i64) -> Result<Option<i64>, AppError> {
        Ok(self.db.password_changed_at(user_id).await?)
    }

    pub async fn device_policy(&self, user_id: i64) -> Result<DevicePolicy, AppError> {
        let (limit, when_full) = self.db.device_policy(user_id).await?;
        Ok(DevicePolicy::from_stored(limit, &when_full))
    }

    pub async fn set_device_policy(
        &self,
        current: &LiveUser,
        policy: DevicePolicy,
    ) -> Result<(), AppError> {
        let (limit, when_full) = policy.stored();
        // Under the account's turn, so that a sign-in under way keeps the policy it read.
        let _turn = self.turns.of(&self.db, current.user_id).await?;
        self.db
            .set_device_policy(current.user_id, limit, when_full)
            .await?;
        Ok(())
    }

    /// Signs `user` in on this browser with `mode`, remembered or not, under the account's
    /// device policy.
    pub(super) async fn sign_in_device(
        &self,
        presented: &Credentials,
        client: &ClientInfo,
        user: &UserRecord,
        mode: Mode,
        remembered: bool,
    ) -> Result<Issued, AppError> {
        let _turn = self.turns.of(&self.db, user.id).await?;
        let user = &self.record_unchanged(user).await?;
        self.make_room(client, user, Some(presented)).await?;
        self.issue(presented, client, user, mode, remembered).await
    }

    /// The account's turn: what is decided while it is held sees no other sign-in, password
    /// change or mode switch of the account half done.
    pub(super) async fn turn(&self, user_id: i64) -> Result<Turn<'_>, AppError> {
        self.turns.of(&self.db, user_id).await
    }

    /// The account as it stands now, read under its turn: its role as an administrator last
    /// set it goes into the new credentials. Refuses a sign-in whose password was checked
    /// before a password change that has since happened: the change ends every device, this
    /// one included. (A rehash with today's parameters is no change: another sign-in may
    /// upgrade the hash meanwhile.)
    async fn record_unchanged(&self, user: &UserRecord) -> Result<UserRecord, AppError> {
        let stored = self.db.user_by_id(user.id).await?;
        match stored {
            Some(stored) if stored.password_changed_at == user.password_changed_at => Ok(stored),
            _ => Err(AppError::InvalidCredentials),
        }
    }

    /// Whether the record behind `current` is live right now, read again (a session's
    /// recognition read it earlier in the request; another request may have ended it since).
    pub(super) async fn still_live(
        &self,
        presented: &Credentials,
        current: &LiveUser,
    ) -> Result<bool, AppError> {
        Ok(match current.mode {
            Mode::Session => self
                .session
                .record(presented)
                .await?
                .is_some_and(|row| row.public_id == current.device_id),
            Mode::Jwt => {
                self.db
                    .family_is_live(&current.device_id, self.clock.now())
                    .await?
            }
        })
    }

    /// A script's sign-in: a new JWT family under the account's device policy. Scripts keep
    /// their tokens themselves: the family gets the long lifetimes, as "Remember me" would.
    pub(super) async fn start_jwt_device(
        &self,
        client: &ClientInfo,
        user: &UserRecord,
    ) -> Result<super::jwt::refresh::TokenPair, AppError> {
        let _turn = self.turns.of(&self.db, user.id).await?;
        let user = &self.record_unchanged(user).await?;
        self.make_room(client, user, None).await?;
        self.jwt.start(user, client, true).await
    }

    /// The user's devices that this browser holds credentials of: a sign-in replaces them, so
    /// they do not count against the limit.
    async fn devices_presented(
        &self,
        presented: &Credentials,
        user_id: i64,
    ) -> Result<Vec<String>, AppError> {
        let mut held = Vec::new();
        if let Some(row) = self.session.record(presented).await?
            && row.user_id == user_id
        {
            held.push(row.public_id);
        }
        if let Some(Ok((token, _))) = presented.access_token()
            && let Ok((Some(owner), device_id)) = self.jwt.signed_here(token)
            && owner == user_id
        {
            held.push(device_id);
        }
        if let Some(token) = presented.refresh.as_deref()
            && let Some(family) = self.jwt.family_of_refresh_token(token).await?
            && family.user_id == user_id
        {
            held.push(family.public_id);
        }
        Ok(held)
    }

    /// Leaves room for one more device under the account's policy: refuses, or ends the least
    /// recently active devices beyond the limit. What the browser signing in (`presented`)
    /// already holds does not count: the sign-in replaces it.
    async fn make_room(
        &self,
        client: &ClientInfo,
        user: &UserRecord,
        presented: Option<&Credentials>,
    ) -> Result<(), AppError> {
        let policy = self.device_policy(user.id).await?;
        let Some(limit) = policy.limit() else {
            return Ok(());
        };
        let replaced = match presented {
            Some(presented) => self.devices_presented(presented, user.id).await?,
            None => Vec::new(),
        };
        let mut live: Vec<Device> = self
            .devices_of(user.id)
            .await?
            .into_iter()
            .filter(|device| device.revoked.is_none() && !replaced.contains(&device.id))
            .collect();
        let excess = (live.len() + 1).saturating_sub(usize::from(limit));
        if excess == 0 {
            return Ok(());
        }
        if policy.when_full() == WhenFull::Refuse {
            return Err(AppError::DeviceLimit {
                limit: i64::from(limit),
            });
        }
        live.sort_by_key(|device| (device.last_seen_at, device.created_at));
        let mut ended = 0;
        for device in &live {
            if ended == excess {
                break;
            }
            // A device that cannot be ended (gone meanwhile, or past its refresh lifetime and
            // waiting for the sweeper) counts for nothing: the next one goes instead.
            let Some(killed) = self
                .mode(device.mode)
                .kill(user.id, &device.id, RevocationReason::DevicePolicy)
                .await?
            else {
                continue;
            };
            let about = About {
                device_id: &device.id,
                mode: device.mode,
                device: &device.device,
            };
            let detail = ActivityDetail {
                by_device: Some(client.device.clone()),
                limit: Some(i64::from(limit)),
                access_valid_until: killed.access_valid_until.map(|until| until.unix),
                ..ActivityDetail::default()
            };
            self.activity
                .record(
                    user.id,
                    ActivityKind::EndedByPolicy,
                    Some(about),
                    &client.ip,
                    &detail,
                )
                .await?;
            ended += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_read_from_the_form_or_refused_with_each_wrong_field_named() {
        assert_eq!(
            parse_device_policy("unlimited", None, None).unwrap(),
            DevicePolicy::Unlimited
        );
        assert_eq!(
            parse_device_policy("one", Some("junk"), None).unwrap(),
            DevicePolicy::OneDevice
        );
        assert_eq!(
            parse_device_policy("at_most", Some(" 3 "), Some("refuse")).unwrap(),
            DevicePolicy::AtMost {
                limit: 3,
                when_full: WhenFull::Refuse
            }
        );
        for (limit, when_full, fields) in [
            (Some("1"), Some("refuse"), vec!["limit"]),
            (Some("11"), Some("refuse"), vec!["limit"]),
            (Some("two"), Some("refuse"), vec!["limit"]),
            (Some("2"), Some("later"), vec!["when_full"]),
            (None, None, vec!["limit", "when_full"]),
        ] {
            let Err(AppError::Invalid { fields: found }) =
                parse_device_policy("at_most", limit, when_full)
            else {
                panic!("{limit:?} {when_full:?} was accepted");
            };
            let found: Vec<_> = found.iter().map(|field| field.field.as_str()).collect();
            assert_eq!(found, fields);
        }
        assert!(parse_device_policy("all", None, None).is_err());
    }

    #[test]
    fn a_stored_policy_reads_back_as_itself() {
        for policy in [
            DevicePolicy::Unlimited,
            DevicePolicy::OneDevice,
            DevicePolicy::AtMost {
                limit: 2,
                when_full: WhenFull::Refuse,
            },
            DevicePolicy::AtMost {
                limit: 10,
                when_full: WhenFull::EndLeastRecent,
            },
        ] {
            let (limit, when_full) = policy.stored();
            assert_eq!(DevicePolicy::from_stored(limit, when_full), policy);
        }
    }
}
