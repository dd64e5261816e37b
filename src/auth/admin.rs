//! What an administrator may do: list accounts, see one's devices and activity, sign its devices
//! out. Every check reads the role from the database, never from the request's credentials: a
//! JWT's `role` claim is a copy that may be stale (or forged, which its signature refuses), and
//! a non-administrator is told nothing exists here (404).

use super::{Auth, CurrentUser, LiveUser, activity::About, session::state::ROLE_PATH};
use crate::{
    core::client::ClientInfo,
    db::{Db, RoleUpdate},
    error::AppError,
    model::{
        ActivityDetail, ActivityKind, AdminUserRow, AdminUserView, DeviceView, Mode, Moment,
        Revocation, RevocationReason, Role, RoleChange, RoleReach, describe_seconds,
    },
};

/// Accounts listed on the admin page, oldest first.
const LISTED: i64 = 500;

/// `ticketbooth make-admin NAME`: makes the account `name` (any letter case) an administrator;
/// `false` if there is no such account. Its cookie sessions in the database carry the new role
/// from their next request, as after a change on the admin page; sessions kept in a server's
/// memory cannot be reached from another process, and JWTs get it at their next refresh.
pub async fn make_admin(db: &Db, name: &str, now: i64) -> Result<bool, sqlx::Error> {
    let Some(user_id) = db.make_admin(name, now).await? else {
        return Ok(false);
    };
    db.set_role_in_sessions_of_user(user_id, ROLE_PATH, Role::Admin.key(), now)
        .await?;
    Ok(true)
}

impl Auth {
    /// The current user's name when they are an administrator now; [`AppError::NotFound`]
    /// otherwise, so that the admin pages do not even admit to existing.
    async fn admin_name(&self, current: &CurrentUser) -> Result<String, AppError> {
        match self.db.user_by_id(current.user_id).await? {
            Some(user) if user.role == "admin" => Ok(user.username),
            _ => Err(AppError::NotFound),
        }
    }

    /// Whether `current` is an administrator now (the database's word, not the request's).
    pub async fn is_admin(&self, current: &CurrentUser) -> Result<bool, AppError> {
        match self.admin_name(current).await {
            Ok(_) => Ok(true),
            Err(AppError::NotFound) => Ok(false),
            Err(other) => Err(other),
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
        let role_changed_at = self.db.role_changed_at(user_id).await?;
        Ok(AdminUserView {
            id: user.id,
            username: user.username,
            role: user.role,
            created: Moment::at(user.created_at, now),
            role_changed: role_changed_at.map(|at| Moment::at(at, now)),
            reach: self.role_reach(user_id, role_changed_at).await?,
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
        let _turn = self.turn(user_id).await?;
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

    /// Gives the account `user_id` the role `role` (`user` or `admin`), and reports when each
    /// of its devices goes by it: a cookie session at its next request (its stored copy is
    /// rewritten now), a JWT device at its next refresh (its access token's claim is a copy
    /// nobody can rewrite), or at once under `session-check`, which reads the role anyway.
    pub async fn admin_set_role(
        &self,
        current: &LiveUser,
        client: &ClientInfo,
        user_id: i64,
        role: &str,
    ) -> Result<RoleChange, AppError> {
        let admin = self.admin_name(current).await?;
        let role = Role::from_key(role.trim())
            .ok_or_else(|| AppError::invalid("role", "A role is either user or admin."))?;
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Under the account's turn: a sign-in under way issues its credentials either before
        // the change (and its session is rewritten below) or after it, with the new role.
        let _turn = self.turn(user_id).await?;
        let now = self.clock.now();
        let changed = match self.db.set_role(user_id, role.key(), now).await? {
            RoleUpdate::Changed => true,
            RoleUpdate::Unchanged => false,
            RoleUpdate::NoSuchUser => return Err(AppError::NotFound),
            RoleUpdate::LastAdmin => {
                return Err(AppError::invalid(
                    "role",
                    "This is the last administrator: make another account one first.",
                ));
            }
        };
        self.session.set_role_of_user(user_id, role.key()).await?;
        let reach = self.role_reach(user_id, changed.then_some(now)).await?;
        if changed {
            let detail = ActivityDetail {
                by_admin: Some(admin),
                role: Some(role),
                ..ActivityDetail::default()
            };
            self.activity
                .record(
                    user_id,
                    ActivityKind::AdminAction,
                    None,
                    &client.ip,
                    &detail,
                )
                .await?;
        }
        Ok(RoleChange {
            username: user.username,
            role,
            changed,
            reach,
        })
    }

    /// When the account's devices go by its role, the last change of which was at
    /// `changed_at`: measured from what the stores hold, as the kill delays are.
    async fn role_reach(
        &self,
        user_id: i64,
        changed_at: Option<i64>,
    ) -> Result<RoleReach, AppError> {
        let now = self.clock.now();
        let sessions = self.mode(Mode::Session).devices(user_id).await?.len();
        // Access tokens issued up to the change carry the role they were issued with.
        let (jwt_devices, stale_until) = self
            .jwt
            .claims_issued_by(user_id, changed_at.unwrap_or(i64::MIN))
            .await?;
        let stale_claim_until = match self.revocation() {
            Revocation::SessionCheck => None,
            Revocation::Pure | Revocation::Denylist => stale_until,
        };
        Ok(RoleReach {
            sessions: u64::try_from(sessions).unwrap_or_default(),
            jwt_devices,
            stale_claim_until: stale_claim_until.map(|until| Moment::at(until, now)),
            access_ttl: describe_seconds(self.jwt_settings().access_ttl),
            revocation: self.revocation(),
        })
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
