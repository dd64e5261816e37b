//! The tower-sessions store for cookie sessions, over our own table.
//!
//! Owning the store, instead of using a stock one, buys three properties the stock stores lack:
//! - sessions are queryable by user (the devices page) because each row carries its user, device,
//!   IP and times as columns, derived from the typed [`SessionState`] at every write;
//! - only the SHA-256 of a session ID is stored, so a copy of the database rides no session;
//! - `save` only ever updates a live row: a session killed while a slow request still held it
//!   is not written back to life when that request finishes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

use crate::{
    db::{Db, SessionRow, SessionRowUpdate},
    server::clock::Clock,
};

/// The key under which [`SessionState`] sits in a session's data.
pub const STATE_KEY: &str = "ticketbooth";

/// Everything a cookie session knows about its user and browser.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    /// The session's public id on the devices page.
    pub device_id: String,
    pub device: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

impl SessionState {
    fn of(record: &Record) -> Result<Self> {
        let value = record
            .data
            .get(STATE_KEY)
            .ok_or_else(|| Error::Encode("only signed-in sessions are stored".into()))?;
        serde_json::from_value(value.clone()).map_err(|error| Error::Encode(error.to_string()))
    }
}

/// SHA-256 of the session ID's 16 random bytes: the row's key.
pub fn hash_session_id(id: &Id) -> Vec<u8> {
    Sha256::digest(id.0.to_le_bytes()).to_vec()
}

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

fn backend(error: sqlx::Error) -> Error {
    Error::Backend(error.to_string())
}

fn encode_data(record: &Record) -> Result<String> {
    serde_json::to_string(&record.data).map_err(|error| Error::Encode(error.to_string()))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let state = SessionState::of(record)?;
        let data = encode_data(record)?;
        // A 128-bit random ID practically never collides; a few attempts settle the rest.
        for _ in 0..4 {
            // Always a fresh ID, whatever the record carried: no ID chosen by a client is ever
            // stored (session fixation).
            record.id = Id::default();
            let row = SessionRow {
                id_hash: hash_session_id(&record.id),
                public_id: state.device_id.clone(),
                user_id: state.user_id,
                device: state.device.clone(),
                ip: state.ip.clone(),
                created_at: state.signed_in_at,
                last_seen_at: state.last_seen_at,
                expires_at: record.expiry_date.unix_timestamp(),
            };
            if self.db.insert_session(&row, &data).await.map_err(backend)? {
                return Ok(());
            }
        }
        Err(Error::Backend("no free session id after 4 attempts".into()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let state = SessionState::of(record)?;
        let data = encode_data(record)?;
        let update = SessionRowUpdate {
            ip: &state.ip,
            last_seen_at: state.last_seen_at,
            expires_at: record.expiry_date.unix_timestamp(),
            data: &data,
        };
        // Nothing updated means the session ended meanwhile; it stays ended.
        self.db
            .update_live_session(&hash_session_id(&record.id), &update, self.clock.now())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some((data, expires_at)) = self
            .db
            .live_session_data(&hash_session_id(id), self.clock.now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(|error| Error::Decode(error.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|error| Error::Decode(error.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.db
            .delete_session(&hash_session_id(id))
            .await
            .map_err(backend)?;
        Ok(())
    }
}
