//! The typed session: what a cookie session knows about its user and browser, and how it is
//! written into a tower-sessions record. The stored JSON keeps one key, [`STATE_KEY`], so rows
//! written by earlier versions still read.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store::{Error, Result},
};

use crate::{core::ids::sha256, db::SessionRow};

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
    /// Signed in with "Remember me". Sessions stored before the box existed had the long
    /// lifetimes, so they read as remembered.
    #[serde(default = "remembered_before_the_box")]
    pub remembered: bool,
}

fn remembered_before_the_box() -> bool {
    true
}

impl SessionState {
    /// The state a record carries; an error for a record without one (only signed-in sessions
    /// are ever stored).
    pub fn of(record: &Record) -> Result<Self> {
        let value = record
            .data
            .get(STATE_KEY)
            .ok_or_else(|| Error::Encode("only signed-in sessions are stored".into()))?;
        // Read from the record in place: no copy of the map first.
        SessionState::deserialize(value).map_err(|error| Error::Encode(error.to_string()))
    }
}

/// Where a session's role sits in its stored JSON, key by key, for a store that edits it in
/// place.
pub const ROLE_PATH: &[&str] = &[STATE_KEY, "role"];

/// The role a session's stored JSON holds.
pub(super) fn role_in(data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    Some(value.get(STATE_KEY)?.get("role")?.as_str()?.to_owned())
}

/// A session's stored JSON with its role replaced.
pub(super) fn with_role(data: &str, role: &str) -> Result<String> {
    let mut value: serde_json::Value =
        serde_json::from_str(data).map_err(|error| Error::Decode(error.to_string()))?;
    let state = value
        .get_mut(STATE_KEY)
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| Error::Decode("a stored session without its state".into()))?;
    state.insert("role".into(), role.into());
    Ok(value.to_string())
}

/// SHA-256 of the session ID's 16 random bytes: the entry's key.
pub fn hash_session_id(id: &Id) -> Vec<u8> {
    sha256(&id.0.to_le_bytes())
}

/// What a record becomes in a store: its row and its data.
pub(super) fn entry_of(record: &Record) -> Result<(SessionRow, String)> {
    let state = SessionState::of(record)?;
    let data =
        serde_json::to_string(&record.data).map_err(|error| Error::Encode(error.to_string()))?;
    let row = SessionRow {
        id_hash: hash_session_id(&record.id),
        public_id: state.device_id,
        user_id: state.user_id,
        device: state.device,
        ip: state.ip,
        created_at: state.signed_in_at,
        last_seen_at: state.last_seen_at,
        expires_at: record.expiry_date.unix_timestamp(),
        remembered: state.remembered,
    };
    Ok((row, data))
}

pub(super) fn record_of(id: &Id, data: &str, expires_at: i64) -> Result<Record> {
    Ok(Record {
        id: *id,
        data: serde_json::from_str(data).map_err(|error| Error::Decode(error.to_string()))?,
        expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|error| Error::Decode(error.to_string()))?,
    })
}

impl SessionState {
    /// A record holding this state, to be stored under `id` until `expires_at`.
    pub fn into_record(self, id: Id, expires_at: i64) -> Result<Record> {
        let mut data = HashMap::new();
        data.insert(
            STATE_KEY.to_owned(),
            serde_json::to_value(self).map_err(|error| Error::Encode(error.to_string()))?,
        );
        Ok(Record {
            id,
            data,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|error| Error::Encode(error.to_string()))?,
        })
    }
}
