//! The JWT key ring in PostgreSQL, when the database keeps it.

use super::Postgres;
use crate::db::rows::SigningKeyRow;

impl Postgres {
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, sqlx::Error> {
        sqlx::query_as!(
            SigningKeyRow,
            "select kid, sealed, created_at, signs_from, retires_at
             from signing_keys order by signs_from desc, created_at desc, kid"
        )
        .fetch_all(self.pool())
        .await
    }

    /// The table's lock makes "if the ring is empty" and the insert one step: of two servers
    /// starting at once, the second waits and then finds the first's key.
    pub async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query!("lock table signing_keys in share row exclusive mode")
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query!(
            "insert into signing_keys (kid, sealed, created_at, signs_from, retires_at)
             select $1, $2, $3, $4, $5 where not exists (select 1 from signing_keys)",
            key.kid,
            key.sealed,
            key.created_at,
            key.signs_from,
            key.retires_at,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted.rows_affected() == 1)
    }

    pub async fn add_signing_key(
        &self,
        key: &SigningKeyRow,
        retire_others_at: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query!("lock table signing_keys in share row exclusive mode")
            .execute(&mut *tx)
            .await?;
        sqlx::query!("delete from signing_keys where retires_at <= $1", now)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "update signing_keys set retires_at = $1 where retires_at is null",
            retire_others_at
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into signing_keys (kid, sealed, created_at, signs_from, retires_at)
             values ($1, $2, $3, $4, $5)",
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
