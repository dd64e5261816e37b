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
        let (ended, about) = match device_id {
            Some(device_id) => {
                let (target, _) = self
                    .end_device_of(user_id, device_id, RevocationReason::Admin)
                    .await?
                    .ok_or(AppError::NotFound)?;
                (1, Some(target))
            }
            None => {
                let mut ended = 0;
                for mode in self.modes() {
                    ended += mode
                        .kill_all_except(user_id, None, RevocationReason::Admin)
                        .await?
                        .count;
                }
                (ended, None)
            }
        };
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
        Ok(self
            .devices_of(user_id)
            .await?
            .iter()
            .filter(|device| device.revoked.is_none())
            .map(|device| device.view(None, now))
            .collect())
    }
}
