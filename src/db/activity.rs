//! The activity log, bounded per user by count (here, at each write) and by age (the sweeper).

use super::Db;

/// Rows of failed sign-ins kept per user (each counts a run from one address): a guesser
/// rotating addresses fills these, never the rest of the log.
const FAILURE_ROWS_KEPT: i64 = 100;

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub device_id: Option<String>,
    pub mode: Option<String>,
    pub device: Option<String>,
    pub ip: String,
    pub count: i64,
    pub detail: String,
}

/// An entry to write.
#[derive(Clone, Debug)]
pub struct NewActivity<'a> {
    pub user_id: i64,
    pub at: i64,
    pub kind: &'static str,
    pub device_id: Option<&'a str>,
    pub mode: Option<&'static str>,
    pub device: Option<&'a str>,
    pub ip: &'a str,
    pub detail: &'a str,
}

impl Db {
    /// Writes an entry and drops the user's oldest beyond the newest `keep`.
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

    /// Counts a wrong password for the account: on the user's newest entry when that is already
    /// a failure from the same address, on a new entry otherwise.
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

    /// The user's entries newest first, `limit` from `offset`, optionally about one device only.
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

    /// The user's newest entry of `kind`.
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

    /// Deletes every entry older than `cutoff`; returns how many.
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
