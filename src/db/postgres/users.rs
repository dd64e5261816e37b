//! Accounts in PostgreSQL.

use super::Postgres;
use crate::db::{
    is_unique_violation,
    rows::{RoleUpdate, UserOverview, UserRecord},
};

impl Postgres {
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let inserted = sqlx::query_scalar!(
            "insert into users (username, password_hash, created_at) values ($1, $2, $3)
             returning id",
            username,
            password_hash,
            now,
        )
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(error) if is_unique_violation(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<UserRecord>, sqlx::Error> {
        sqlx::query_as!(
            UserRecord,
            "select id, username, password_hash, role, created_at, password_changed_at
             from users where lower(username) = lower($1)",
            username,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
        sqlx::query_as!(
            UserRecord,
            "select id, username, password_hash, role, created_at, password_changed_at
             from users where id = $1",
            id,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn replace_password_hash(
        &self,
        user_id: i64,
        expected: &str,
        new_hash: &str,
        changed_at: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let replaced = sqlx::query!(
            "update users set password_hash = $1,
                 password_changed_at = coalesce($2, password_changed_at)
             where id = $3 and password_hash = $4",
            new_hash,
            changed_at,
            user_id,
            expected,
        )
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(replaced == 1)
    }

    pub async fn password_changed_at(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
        Ok(sqlx::query_scalar!(
            "select password_changed_at from users where id = $1",
            user_id
        )
        .fetch_optional(self.pool())
        .await?
        .flatten())
    }

    pub async fn device_policy(&self, user_id: i64) -> Result<(Option<i64>, String), sqlx::Error> {
        let row = sqlx::query!(
            "select device_limit, when_full from users where id = $1",
            user_id
        )
        .fetch_one(self.pool())
        .await?;
        Ok((row.device_limit, row.when_full))
    }

    pub async fn set_device_policy(
        &self,
        user_id: i64,
        device_limit: Option<i64>,
        when_full: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "update users set device_limit = $1, when_full = $2 where id = $3",
            device_limit,
            when_full,
            user_id,
        )
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn make_admin(&self, username: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar!(
            "update users set role = 'admin',
                 role_changed_at = case when role = 'admin' then role_changed_at else $1 end
             where lower(username) = lower($2)
             returning id",
            now,
            username
        )
        .fetch_optional(self.pool())
        .await
    }

    /// The check and the change are one statement. Under READ COMMITTED two demotions at once
    /// could each see the other still an administrator, so the statement locks every
    /// administrator's row first (`FOR UPDATE`, all of them read by the count): the second
    /// waits for the first, then counts the rows as the first left them.
    pub async fn set_role(
        &self,
        user_id: i64,
        role: &str,
        now: i64,
    ) -> Result<RoleUpdate, sqlx::Error> {
        let changed = sqlx::query!(
            "with admins as (select id from users where role = 'admin' for update)
             update users set role = $1, role_changed_at = $2
             where id = $3 and role <> $1
               and ($1 = 'admin' or (select count(*) from admins where id <> $3) > 0)",
            role,
            now,
            user_id,
        )
        .execute(self.pool())
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(RoleUpdate::Changed);
        }
        let now = sqlx::query_scalar!("select role from users where id = $1", user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match now {
            None => RoleUpdate::NoSuchUser,
            Some(now) if now == role => RoleUpdate::Unchanged,
            Some(_) => RoleUpdate::LastAdmin,
        })
    }

    pub async fn role_changed_at(&self, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
        Ok(
            sqlx::query_scalar!("select role_changed_at from users where id = $1", user_id)
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    pub async fn users_overview(&self, limit: i64) -> Result<Vec<UserOverview>, sqlx::Error> {
        sqlx::query_as!(
            UserOverview,
            r#"select u.id, u.username, u.role, u.created_at,
                   (select max(a.at) from activity a where a.user_id = u.id) as "last_activity"
               from users u order by u.id limit $1"#,
            limit,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn count_users(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar!(r#"select count(*) as "n!" from users"#)
            .fetch_one(self.pool())
            .await
    }
}
