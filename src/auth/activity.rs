//! What happened to an account, written as it happens and read back newest first.
//!
//! Entries hold no secret: never a password, a token, a session ID or a username a stranger
//! typed. A failed sign-in is written only for an account that exists, with the address it came
//! from. The log is bounded per user: the newest [`ActivityLimits::entries`] entries, none older
//! than [`ActivityLimits::max_age`] (the sweeper).

use crate::{
    core::clock::Clock,
    db::{ActivityRow, Db, NewActivity},
    error::AppError,
    model::{ActivityDetail, ActivityEntry, ActivityKind, ActivityPage, Mode, Moment, Role},
};

/// Entries shown on one page of the log.
pub const PER_PAGE: i64 = 50;
/// The last page one may ask for; past it there is nothing (the log keeps at most a few
/// thousand entries).
pub const MAX_PAGE: u32 = 1000;
/// Device ids are short random base64url strings; anything else is refused unread.
const MAX_DEVICE_ID_BYTES: usize = 64;

/// How much of the log is kept.
#[derive(Clone, Copy, Debug)]
pub struct ActivityLimits {
    pub entries: i64,
    /// Seconds.
    pub max_age: i64,
}

/// The device an entry is about.
#[derive(Clone, Copy, Debug)]
pub struct About<'a> {
    pub device_id: &'a str,
    pub mode: Mode,
    pub device: &'a str,
}

/// Writes and reads the log.
#[derive(Clone)]
pub struct ActivityLog {
    db: Db,
    clock: Clock,
    limits: ActivityLimits,
}

impl ActivityLog {
    pub fn new(db: Db, clock: Clock, limits: ActivityLimits) -> Self {
        ActivityLog { db, clock, limits }
    }

    pub async fn record(
        &self,
        user_id: i64,
        kind: ActivityKind,
        about: Option<About<'_>>,
        ip: &str,
        detail: &ActivityDetail,
    ) -> Result<(), AppError> {
        let detail = serde_json::to_string(detail)
            .map_err(|error| AppError::internal("writing an activity detail", &error))?;
        self.db
            .record_activity(
                &NewActivity {
                    user_id,
                    at: self.clock.now(),
                    kind: kind.key(),
                    device_id: about.map(|about| about.device_id),
                    mode: about.map(|about| about.mode.key()),
                    device: about.map(|about| about.device),
                    ip,
                    detail: &detail,
                },
                self.limits.entries,
            )
            .await?;
        Ok(())
    }

    /// A wrong password for the account `user_id`, from `ip`.
    pub async fn failed_sign_in(&self, user_id: i64, ip: &str) -> Result<(), AppError> {
        self.db
            .record_failed_sign_in(user_id, ip, self.clock.now())
            .await?;
        Ok(())
    }

    /// Page `page` (1-based) of the user's log, newest first, optionally about one device.
    pub async fn page(
        &self,
        user_id: i64,
        device_id: Option<&str>,
        page: u32,
    ) -> Result<ActivityPage, AppError> {
        let well_formed = |id: &str| {
            !id.is_empty()
                && id.len() <= MAX_DEVICE_ID_BYTES
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
        };
        if device_id.is_some_and(|id| !well_formed(id)) {
            return Err(AppError::invalid(
                "device",
                "That is not a device id from the devices page.",
            ));
        }
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(AppError::invalid(
                "page",
                format!("Pages are numbered from 1 to {MAX_PAGE}."),
            ));
        }
        let offset = (i64::from(page) - 1) * PER_PAGE;
        // One more than a page, to know whether another follows.
        let mut rows = self
            .db
            .activity_of_user(user_id, device_id, offset, PER_PAGE + 1)
            .await?;
        let has_more = rows.len() as i64 > PER_PAGE;
        rows.truncate(PER_PAGE as usize);
        let now = self.clock.now();
        Ok(ActivityPage {
            entries: rows.iter().filter_map(|row| entry(row, now)).collect(),
            page,
            has_more,
            device_id: device_id.map(str::to_owned),
        })
    }

    /// The user's newest entry of `kind`.
    pub async fn latest(
        &self,
        user_id: i64,
        kind: ActivityKind,
    ) -> Result<Option<ActivityEntry>, AppError> {
        let row = self.db.latest_activity(user_id, kind.key()).await?;
        Ok(row.and_then(|row| entry(&row, self.clock.now())))
    }

    /// Deletes entries past the age bound; returns how many.
    pub async fn sweep(&self) -> Result<u64, AppError> {
        let cutoff = self.clock.now() - self.limits.max_age;
        Ok(self.db.delete_activity_before(cutoff).await?)
    }
}

/// A stored entry, worded. A kind this build does not know is left out rather than misnamed.
fn entry(row: &ActivityRow, now: i64) -> Option<ActivityEntry> {
    let kind = ActivityKind::from_key(&row.kind)?;
    let detail: ActivityDetail = serde_json::from_str(&row.detail).unwrap_or_default();
    let mode = row.mode.as_deref().and_then(Mode::from_key);
    Some(ActivityEntry {
        id: row.id,
        kind,
        at: Moment::at(row.at, now),
        summary: summary(kind, mode, row.device.as_deref(), row.count, &detail, now),
        device_id: row.device_id.clone(),
        mode,
        device: row.device.clone(),
        ip: row.ip.clone(),
        count: row.count,
        detail,
    })
}

/// One sentence for an entry.
fn summary(
    kind: ActivityKind,
    mode: Option<Mode>,
    device: Option<&str>,
    count: i64,
    detail: &ActivityDetail,
    now: i64,
) -> String {
    let about_device = device;
    let device = device.unwrap_or("a device");
    let by = detail
        .by_device
        .as_deref()
        .map(|by| format!(" from {by}"))
        .unwrap_or_default();
    let tail = detail
        .access_valid_until
        .map(|until| {
            let stays = if until > now { "stays" } else { "stayed" };
            let until = Moment::at(until, now);
            format!(
                "; a JWT device's last access token {stays} valid until {} ({})",
                until.utc, until.relative
            )
        })
        .unwrap_or_default();
    let devices = |n: u64| {
        if n == 1 {
            "1 other device".to_owned()
        } else {
            format!("{n} other devices")
        }
    };
    match kind {
        ActivityKind::SignedIn => format!(
            "Signed in on {device} with {}.",
            mode.map_or("a sign-in", Mode::label)
        ),
        ActivityKind::SignInFailed if count == 1 => "A wrong password was typed.".to_owned(),
        ActivityKind::SignInFailed => format!("A wrong password was typed {count} times."),
        ActivityKind::SignedOut => format!("{device} signed out."),
        ActivityKind::DeviceKilled => match detail.ended {
            // "Sign out all other devices": one entry for all of them.
            Some(ended) => format!("{} signed out{by}{tail}.", devices(ended)),
            None => format!("{device} was signed out{by}{tail}."),
        },
        ActivityKind::PasswordChanged => format!(
            "The password was changed{by}: {} signed out{tail}.",
            devices(detail.ended.unwrap_or(0))
        ),
        ActivityKind::RefreshReuse if detail.drill == Some(true) => format!(
            "The theft drill replayed a spent refresh token of {device}: the device is signed \
             out, as it would be for a real copy."
        ),
        ActivityKind::RefreshReuse => format!(
            "A refresh token of {device} was used twice: someone has a copy, so the device is \
             signed out."
        ),
        ActivityKind::ModeSwitched => format!(
            "{device} switched to {}.",
            detail.to_mode.map_or("the other mode", Mode::label)
        ),
        ActivityKind::AdminAction if detail.role.is_some() => format!(
            "The administrator {} {}.",
            detail.by_admin.as_deref().unwrap_or("(unknown)"),
            match detail.role {
                Some(Role::Admin) => "made this account an administrator",
                _ => "took this account's administrator role away",
            }
        ),
        ActivityKind::AdminAction => format!(
            "The administrator {} signed {} out.",
            detail.by_admin.as_deref().unwrap_or("(unknown)"),
            match (detail.ended, about_device) {
                (Some(1), Some(device)) | (None, Some(device)) => device.to_owned(),
                (Some(1), None) => "1 device".to_owned(),
                (Some(n), _) => format!("{n} devices"),
                (None, None) => "a device".to_owned(),
            }
        ),
        ActivityKind::EndedByPolicy => format!(
            "{device} was signed out: {} signed in, and the account allows {} at once{tail}.",
            detail.by_device.as_deref().unwrap_or("another device"),
            match detail.limit {
                Some(1) | None => "one device".to_owned(),
                Some(limit) => format!("{limit} devices"),
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_stored_by_a_key_it_is_read_back_from() {
        for kind in ActivityKind::ALL {
            assert_eq!(ActivityKind::from_key(kind.key()), Some(kind));
        }
        assert_eq!(ActivityKind::from_key("made_up"), None);
    }

    #[test]
    fn a_password_change_says_how_many_ended_and_until_when_a_jwt_still_works() {
        let detail = ActivityDetail {
            ended: Some(2),
            access_valid_until: Some(1_000 + 240),
            by_device: Some("Firefox 121 on macOS".into()),
            ..ActivityDetail::default()
        };
        let text = summary(ActivityKind::PasswordChanged, None, None, 1, &detail, 1_000);
        assert!(text.contains("from Firefox 121 on macOS"), "{text}");
        assert!(text.contains("2 other devices signed out"), "{text}");
        assert!(text.contains("stays valid until"), "{text}");
        assert!(text.contains("in 4 minutes"), "{text}");
    }

    #[test]
    fn an_administrators_sign_out_of_one_device_is_singular() {
        let detail = |ended| ActivityDetail {
            ended: Some(ended),
            by_admin: Some("lee".into()),
            ..ActivityDetail::default()
        };
        let text = |ended| summary(ActivityKind::AdminAction, None, None, 1, &detail(ended), 0);
        assert_eq!(text(1), "The administrator lee signed 1 device out.");
        assert_eq!(text(3), "The administrator lee signed 3 devices out.");
    }
}
