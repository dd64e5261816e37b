//! The activity log in PostgreSQL, bounded per user by count (here, at each write) and by age
//! (the sweeper).

use sqlx::PgConnection;

use super::Postgres;
use crate::db::{
    FAILURE_ROWS_KEPT,
    rows::{ActivityRow, NewActivity},
};

impl Postgres {
    pub async fn record_activity(
        &self,
        entry: &NewActivity<'_>,
        keep: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        lock_log_of(&mut tx, entry.user_id).await?;
        sqlx::query!(
            "insert into activity (user_id, at, kind, device_id, mode, device, ip, detail)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        // Keeps the newest `keep` entries besides wrong passwords, which are bounded among
        // themselves: anyone can cause those, so they never push the rest out.
        sqlx::query!(
            "delete from activity where user_id = $1 and kind <> 'sign_in_failed' and id not in
                 (select id from activity where user_id = $1 and kind <> 'sign_in_failed'
                  order by at desc, id desc limit $2)",
            entry.user_id,
            keep,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn record_failed_sign_in(
        &self,
        user_id: i64,
        ip: &str,
        at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        lock_log_of(&mut tx, user_id).await?;
        let counted = sqlx::query!(
            "update activity set count = count + 1, at = $1
             where id = (select id from activity where user_id = $2
                         order by at desc, id desc limit 1)
               and kind = 'sign_in_failed' and ip = $3",
            at,
            user_id,
            ip,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if counted == 0 {
            sqlx::query!(
                "insert into activity (user_id, at, kind, ip) values ($1, $2, 'sign_in_failed', $3)",
                user_id,
                at,
                ip,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "delete from activity where user_id = $1 and kind = 'sign_in_failed' and id not in
                     (select id from activity where user_id = $1 and kind = 'sign_in_failed'
                      order by at desc, id desc limit $2)",
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
            "select id, at, kind, device_id, mode, device, ip, count, detail
             from activity
             where user_id = $1 and ($2::text is null or device_id = $2)
             order by at desc, id desc
             limit $3 offset $4",
            user_id,
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
            "select id, at, kind, device_id, mode, device, ip, count, detail
             from activity
             where user_id = $1 and kind = $2
             order by at desc, id desc
             limit 1",
            user_id,
            kind,
        )
        .fetch_optional(self.pool())
        .await
    }

    pub async fn delete_activity_before(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query!("delete from activity where at < $1", cutoff)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}

/// Holds the account's row until the transaction ends: a log entry's write and its trim, or a
/// failed sign-in's count, are decided one account at a time (as SQLite's write lock does).
/// `FOR NO KEY UPDATE` leaves other tables' references to the account free.
async fn lock_log_of(tx: &mut PgConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        "select id from users where id = $1 for no key update",
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(())
}
