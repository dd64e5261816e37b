//! The JWT key ring in SQLite, when the database keeps it.

use super::Sqlite;
use crate::db::rows::SigningKeyRow;

impl Sqlite {
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
        sqlx::query_as!(
            SigningKeyRow,
            r#"select kid as "kid!", sealed, created_at, signs_from, retires_at
               from signing_keys order by signs_from desc, created_at desc, kid"#
        )
        .fetch_all(self.pool())
        .await
    }

    pub async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query!(
            "insert into signing_keys (kid, sealed, created_at, signs_from, retires_at)
             select ?, ?, ?, ?, ? where not exists (select 1 from signing_keys)",
            key.kid,
            key.sealed,
            key.created_at,
            key.signs_from,
            key.retires_at,
        )
        .execute(self.pool())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    pub async fn add_signing_key(
        &self,
        key: &SigningKeyRow,
        retire_others_at: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query!("delete from signing_keys where retires_at <= ?", now)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "update signing_keys set retires_at = ? where retires_at is null",
            retire_others_at
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into signing_keys (kid, sealed, created_at, signs_from, retires_at)
             values (?, ?, ?, ?, ?)",
            key.kid,
            key.sealed,
            key.created_at,
            key.signs_from,
            key.retires_at,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}
