//! The drawer: cookie sessions as rows of the `sessions` table. They survive a restart, and
//! every server on the same database sees them.

use async_trait::async_trait;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

use super::{
    state::{ROLE_PATH, entry_of, hash_session_id, record_of},
    store::{SessionBackend, create_with_fresh_id, unavailable},
};
use crate::{
    core::clock::Clock,
    db::{Db, SessionRow, SessionRowUpdate},
    model::{SessionFootprint, SessionStoreKind},
};

/// The drawer: sessions in the `sessions` table.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    db: Db,
    clock: Clock,
}

impl SqlSessionStore {
    pub fn new(db: Db, clock: Clock) -> Self {
        SqlSessionStore { db, clock }
    }
}

/// A database failure as the store reports it: out of reach (the app answers 503 and signs
/// nobody out), or anything else (a bug: 500).
fn backend(error: sqlx::Error) -> Error {
    if crate::error::database_out_of_reach(&error) {
        unavailable(&error)
    } else {
        Error::Backend(error.to_string())
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        create_with_fresh_id(record, |row, data| async move {
            self.db.insert_session(&row, &data).await.map_err(backend)
        })
        .await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (row, data) = entry_of(record)?;
        let update = SessionRowUpdate {
            ip: &row.ip,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            data: &data,
            role_path: ROLE_PATH,
        };
        // Nothing updated means the session ended meanwhile; it stays ended.
        self.db
            .update_live_session(&row.id_hash, &update, self.clock.now())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let found = self
            .db
            .live_session_data(&hash_session_id(id), self.clock.now())
            .await
            .map_err(backend)?;
        found
            .map(|(data, expires_at)| record_of(id, &data, expires_at))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.db
            .delete_session(&hash_session_id(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl SessionBackend for SqlSessionStore {
    fn kind(&self) -> SessionStoreKind {
        self.db.kind().session_store()
    }

    async fn live_session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>> {
        self.db
            .live_session(id_hash, self.clock.now())
            .await
            .map_err(backend)
    }

    async fn live_sessions_of_user(&self, user_id: i64) -> Result<Vec<SessionRow>> {
        self.db
            .live_sessions_of_user(user_id, self.clock.now())
            .await
            .map_err(backend)
    }

    async fn delete_session_of_user(&self, user_id: i64, public_id: &str) -> Result<bool> {
        self.db
            .delete_session_of_user(user_id, public_id)
            .await
            .map_err(backend)
    }

    async fn delete_sessions_of_user_except(
        &self,
        user_id: i64,
        keep: Option<&str>,
    ) -> Result<u64> {
        self.db
            .delete_sessions_of_user_except(user_id, keep)
            .await
            .map_err(backend)
    }

    async fn delete_expired(&self) -> Result<u64> {
        self.db
            .delete_expired_sessions(self.clock.now())
            .await
            .map_err(backend)
    }

    async fn ping(&self) -> Result<()> {
        self.db.ping().await.map_err(backend)
    }

    async fn set_role_of_user(&self, user_id: i64, role: &str) -> Result<u64> {
        self.db
            .set_role_in_sessions_of_user(user_id, ROLE_PATH, role, self.clock.now())
            .await
            .map_err(backend)
    }

    async fn footprint(&self) -> Result<SessionFootprint> {
        let table = self.db.sessions_footprint().await.map_err(backend)?;
        let rows = table.rows.unsigned_abs();
        Ok(SessionFootprint {
            bytes_per_session: table.bytes.unsigned_abs().checked_div(rows).unwrap_or(0),
            sessions: Some(rows),
            measured_over: rows,
        })
    }
}
