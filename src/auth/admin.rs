//! What an administrator may do: list accounts, see one's devices and activity, sign its devices
//! out. Every check reads the role from the database, never from the request's credentials: a
//! JWT's `role` claim is a copy that may be stale (or forged, which its signature refuses), and
//! a non-administrator is told nothing exists here (404).

use super::{Auth, CurrentUser, LiveUser, activity::About};
use crate::{
    core::client::ClientInfo,
    error::AppError,
    model::{
        ActivityDetail, ActivityKind, AdminUserRow, AdminUserView, DeviceView, Moment,
        RevocationReason,
    },
};

/// Accounts listed on the admin page, oldest first.
const LISTED: i64 = 500;

impl Auth {
    /// The current user's name when they are an administrator now; [`AppError::NotFound`]
    /// otherwise, so that the admin pages do not even admit to existing.
    async fn admin_name(&self, current: &CurrentUser) -> Result<String, AppError> {
        match self.db.user_by_id(current.user_id).await? {
            Some(user) if user.role == "admin" => Ok(user.username),
            _ => Err(AppError::NotFound),
        }
    }

    pub async fn admin_users(&self, current: &CurrentUser) -> Result<Vec<AdminUserRow>, AppError> {
        self.admin_name(current).await?;
        let now = self.clock.now();
        let mut rows = Vec::new();
        for user in self.db.users_overview(LISTED).await? {
            rows.push(AdminUserRow {
                devices: self.live_devices_of(user.id, now).await?.len(),
                id: user.id,
                username: user.username,
                role: user.role,
                created: Moment::at(user.created_at, now),
                last_activity: user.last_activity.map(|at| Moment::at(at, now)),
            });
        }
        Ok(rows)
    }

    pub async fn admin_user(
        &self,
        current: &CurrentUser,
        user_id: i64,
        page: u32,
    ) -> Result<AdminUserView, AppError> {
        self.admin_name(current).await?;
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        Ok(AdminUserView {
            id: user.id,
            username: user.username,
            role: user.role,
            created: Moment::at(user.created_at, now),
            devices: self.live_devices_of(user_id, now).await?,
            activity: self.activity.page(user_id, None, page).await?,
        })
    }

    /// Signs one of the account's devices out (`device_id`), or all of them; writes it on the
    /// account's log. Returns how many ended.
    pub async fn admin_end_devices(
        &self,
        current: &LiveUser,
        client: &ClientInfo,
        user_id: i64,
        device_id: Option<&str>,
    ) -> Result<u64, AppError> {
        let admin = self.admin_name(current).await?;
        if self.db.user_by_id(user_id).await?.is_none() {
            return Err(AppError::NotFound);
        }
        let _turn = self.turn(user_id).await;
        let mut ended = 0;
        let mut about = None;
        for mode in self.modes() {
            match device_id {
                Some(device_id) => {
                    let target = mode
                        .devices(user_id)
                        .await?
                        .into_iter()
                        .find(|device| device.id == device_id && device.revoked.is_none());
                    if let Some(target) = target
                        && mode
                            .kill(user_id, device_id, RevocationReason::Admin)
                            .await?
                            .is_some()
                    {
                        ended += 1;
                        about = Some(target);
                    }
                }
                None => {
                    ended += mode
                        .kill_all_except(user_id, None, RevocationReason::Admin)
                        .await?
                        .count;
                }
            }
        }
        if device_id.is_some() && ended == 0 {
            return Err(AppError::NotFound);
        }
        let detail = ActivityDetail {
            by_admin: Some(admin),
            ended: Some(ended),
            ..ActivityDetail::default()
        };
        let about = about.as_ref().map(|device| About {
            device_id: &device.id,
            mode: device.mode,
            device: &device.device,
        });
        self.activity
            .record(
                user_id,
                ActivityKind::AdminAction,
                about,
                &client.ip,
                &detail,
            )
            .await?;
        Ok(ended)
    }

    /// The account's live devices in both modes, most recently active first.
    async fn live_devices_of(&self, user_id: i64, now: i64) -> Result<Vec<DeviceView>, AppError> {
        let mut devices = Vec::new();
        for mode in self.modes() {
            devices.extend(
                mode.devices(user_id)
                    .await?
                    .into_iter()
                    .filter(|device| device.revoked.is_none()),
            );
        }
        devices.sort_by_key(|device| std::cmp::Reverse((device.last_seen_at, device.created_at)));
        let nobody = CurrentUser {
            user_id,
            username: String::new(),
            role: String::new(),
            mode: crate::model::Mode::Session,
            device_id: String::new(),
        };
        Ok(devices
            .iter()
            .map(|device| device.view(&nobody, now))
            .collect())
    }
}
