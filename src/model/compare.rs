//! The compare page: live figures per way of recognising requests.

use serde::{Deserialize, Serialize};

use super::{Mode, Revocation, SessionStoreKind};

/// The most requests the compare page's burst sends in each column.
pub const MAX_BURST: u32 = 1000;

/// One way of recognising requests, as the compare page measures it: the cookie session, or a
/// JWT under one revocation setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Column {
    Session,
    JwtPure,
    JwtSessionCheck,
    JwtDenylist,
}

impl Column {
    /// The compare page's columns, in order.
    pub const ALL: [Column; 4] = [
        Column::Session,
        Column::JwtPure,
        Column::JwtSessionCheck,
        Column::JwtDenylist,
    ];

    /// The column a request recognised by `mode` under `revocation` is measured in.
    pub fn of(mode: Mode, revocation: Revocation) -> Column {
        match (mode, revocation) {
            (Mode::Session, _) => Column::Session,
            (Mode::Jwt, Revocation::Pure) => Column::JwtPure,
            (Mode::Jwt, Revocation::SessionCheck) => Column::JwtSessionCheck,
            (Mode::Jwt, Revocation::Denylist) => Column::JwtDenylist,
        }
    }

    /// Stable name for `data-column`, `Server-Timing` and tests.
    pub fn key(self) -> &'static str {
        match self {
            Column::Session => "session",
            Column::JwtPure => "jwt-pure",
            Column::JwtSessionCheck => "jwt-session-check",
            Column::JwtDenylist => "jwt-denylist",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Column::Session => "cookie session",
            Column::JwtPure => "JWT, pure",
            Column::JwtSessionCheck => "JWT, session-check",
            Column::JwtDenylist => "JWT, denylist",
        }
    }
}

/// When a kill stops a device, as the kill drill measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillEffect {
    /// The very next request was refused.
    AtOnce,
    /// The next request still got in: the device works until its access token expires, this
    /// many seconds after the kill.
    AtExpiry { seconds_after_kill: i64 },
}

/// What the server holds in memory for one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryUse {
    /// Nothing: the column's state lives in the database, or nowhere.
    Nothing,
    /// Sessions are rows in the database (SQLite or PostgreSQL).
    SessionRows,
    /// Every live session is in this process's memory.
    EverySession,
    /// Sessions are in Redis, outside this process.
    SharedStore,
    /// The denylist: this many revoked token ids, about this many bytes.
    Denylist { entries: usize, bytes: usize },
}

/// Live figures for one way of recognising requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostColumn {
    pub column: Column,
    pub requests: usize,
    pub median_micros: f64,
    pub p99_micros: f64,
    pub queries_per_request: f64,
    pub bytes_per_request: f64,
    /// When a kill from the devices page stops this device; `None` until a kill drill ran.
    pub kill_takes_effect: Option<KillEffect>,
    pub memory: MemoryUse,
}

/// The least each way of recognising could cost on this server, as the last burst measured it
/// (medians, in µs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Floors {
    /// HMAC-SHA256 over a token's signing input: the signature check alone (HS256).
    pub hmac_micros: f64,
    /// An Ed25519 signature check over the same input: the signature check alone (EdDSA).
    #[serde(default)]
    pub ed25519_verify_micros: f64,
    /// `jsonwebtoken::decode` of the token with this server's key and rules.
    pub jwt_decode_micros: f64,
    /// The session row read on the asking thread, as recognition reads it; `None` when sessions
    /// are kept in memory.
    pub sqlite_read_micros: Option<f64>,
    /// The same read through sqlx's pool, handed to its connection's thread and back.
    pub sqlite_pool_read_micros: Option<f64>,
    /// One bare round trip (PING) to the Redis that keeps the sessions, on the store's own
    /// connection; `None` when sessions are kept elsewhere.
    #[serde(default)]
    pub redis_round_trip_micros: Option<f64>,
    /// One bare round trip (`SELECT 1`) to the PostgreSQL the server keeps its data in, through
    /// its pool; `None` when the database is SQLite.
    #[serde(default)]
    pub postgres_round_trip_micros: Option<f64>,
    /// One argon2id verification with this server's parameters.
    pub argon2_micros: f64,
}

/// What the session store spends on each session, as the store itself counts it (the last
/// burst asked it): the articles' "the desk fills up", in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFootprint {
    /// Bytes per session, what the store's indexes cost included.
    pub bytes_per_session: u64,
    /// How many sessions the store holds, when it can count them cheaply (Redis cannot
    /// without walking every key).
    pub sessions: Option<u64>,
    /// How many sessions the figure was measured over: all of them for the SQL table's size,
    /// a sample for memory and Redis.
    pub measured_over: u64,
}

/// Reading one session from one store the server can reach, as the last burst measured it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoreRead {
    pub store: SessionStoreKind,
    pub median_micros: f64,
    pub p99_micros: f64,
    /// One bare round trip to the store on the same connections (Redis's PING, a database's
    /// `SELECT 1` through the pool), median; `None` for memory and SQLite, in this process.
    pub floor_micros: Option<f64>,
}

/// The order the articles predict, cheapest first: the desk (memory), the shared desk (Redis),
/// the drawer (SQLite), the warehouse (PostgreSQL).
pub const PREDICTED_ORDER: [SessionStoreKind; 4] = [
    SessionStoreKind::Memory,
    SessionStoreKind::Redis,
    SessionStoreKind::Sqlite,
    SessionStoreKind::Postgres,
];

/// The compare page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub columns: Vec<CostColumn>,
    /// `None` until a burst measured them.
    pub floors: Option<Floors>,
    /// `None` until a burst measured it.
    #[serde(default)]
    pub session_footprint: Option<SessionFootprint>,
    /// Each store the server can reach, read by the last burst, cheapest first; empty until
    /// then.
    #[serde(default)]
    pub store_reads: Vec<StoreRead>,
    /// This server's revocation setting and session store.
    pub revocation: Revocation,
    pub session_store: SessionStoreKind,
    /// Lifetime of an access token, in seconds.
    pub access_ttl: i64,
}
