//! The activity log in SQLite, bounded per user by count (here, at each write) and by age
//! (the sweeper).

use super::Sqlite;
use crate::db::{
    FAILURE_ROWS_KEPT,
    rows::{ActivityRow, NewActivity},
};

impl Sqlite {
    pub async fn record_activity(
        &self,
        entry: &NewActivity<'_>,
        keep: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query!(
            "insert into activity (user_id, at, kind, device_id, mode, device, ip, detail)
             values (?, ?, ?, ?, ?, ?, ?, ?)",
            entry.user_id,
            entry.at,
            entry.kind,
            entry.device_id,
            entry.mode,
            entry.device,
            entry.ip,
            entry.detail,
        )
        .execute(&mut *tx)
        .await?;
        trim(&mut tx, entry.user_id, keep).await?;
        tx.commit().await
    }

    pub async fn record_failed_sign_in(
        &self,
        user_id: i64,
        ip: &str,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let counted = sqlx::query!(
            "update activity set count = count + 1, at = ?
             where id = (select id from activity where user_id = ? order by at desc, id desc limit 1)
               and kind = 'sign_in_failed' and ip = ?",
            at,
            user_id,
            ip,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            sqlx::query!(
                "insert into activity (user_id, at, kind, ip) values (?, ?, 'sign_in_failed', ?)",
                user_id,
                at,
                ip,
            )
            .execute(&mut *tx)
            .await?;
            // Failures are trimmed among themselves: anyone may cause them, so they must not
            // push the account's own history out of a log bounded by count.
            sqlx::query!(
                "delete from activity where user_id = ? and kind = 'sign_in_failed' and id not in
                     (select id from activity where user_id = ? and kind = 'sign_in_failed'
                      order by at desc, id desc limit ?)",
                user_id,
                user_id,
                FAILURE_ROWS_KEPT,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    pub async fn activity_of_user(
        &self,
        user_id: i64,
        device_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ActivityRow>, sqlx::Error> {
        sqlx::query_as!(
            ActivityRow,
            r#"select id as "id!", at, kind, device_id, mode, device, ip, count, detail
               from activity
               where user_id = ? and (? is null or device_id = ?)
               order by at desc, id desc
               limit ? offset ?"#,
            user_id,
            device_id,
            device_id,
            limit,
            offset,
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn latest_activity(
        &self,
        user_id: i64,
        kind: &str,
    ) -> Result<Option<ActivityRow>, sqlx::Error> {
        sqlx::query_as!(
            ActivityRow,
            r#"select id as "id!", at, kind, device_id, mode, device, ip, count, detail
               from activity
               where user_id = ? and kind = ?
               order by at desc, id desc
               limit 1"#,
            user_id,
            kind,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_activity_before(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query!("delete from activity where at < ?", cutoff)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}

/// Keeps the user's newest `keep` entries besides wrong passwords, which are bounded among
/// themselves ([`FAILURE_ROWS_KEPT`]): anyone can cause those, so they never push the rest out.
async fn trim(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user_id: i64,
    keep: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from activity where user_id = ? and kind <> 'sign_in_failed' and id not in
             (select id from activity where user_id = ? and kind <> 'sign_in_failed'
              order by at desc, id desc limit ?)",
        user_id,
        user_id,
        keep,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
