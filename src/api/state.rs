//! The state every request shares, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::{config::LeptosOptions, prelude::use_context};

use crate::{
    auth::{
        Auth,
        activity::{ActivityLimits, ActivityLog},
        jwt::{
            JwtMode, StartError,
            keys::{KeyError, KeyRing},
            shared_keys::DatabaseRing,
        },
        password::Passwords,
        session::{
            SessionMode, memory::MemorySessionStore, redis::RedisSessionStore,
            sql::SqlSessionStore, store::SessionBackend,
        },
        throttle::{SharedCounts, SignInThrottle, SignUpThrottle},
    },
    core::{
        clock::Clock,
        config::{Config, KeySource},
    },
    db::Db,
    error::AppError,
    inspect::{load::LoadGenerator, metrics::Metrics},
    model::{DatabaseKind, SessionStoreKind},
};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Jwt(#[from] StartError),
}

/// Cloned for every request and every server function (axum's `State`, Leptos' context): one
/// reference count, not a copy of the settings and every table's handle.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: Db,
    pub auth: Auth,
    pub clock: Clock,
    /// What recognising requests has cost, for the dashboard and the compare page.
    pub metrics: Arc<Metrics>,
    /// The compare page's bursts.
    pub load: Arc<LoadGenerator>,
    /// Set when the server begins to stop: `/readyz` says so, and a load balancer sends it
    /// no new requests.
    pub draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// Opens the database (applying migrations), loads the signing keys and sets up the modes.
    pub async fn build(config: Config, clock: Clock) -> Result<Self, BuildError> {
        let db = Db::open(&config.database_url).await?;
        let (keys, database_ring) = match (config.key_source(), &config.jwt_key_encryption_key) {
            (KeySource::Database, Some(sealing)) => {
                let ring = DatabaseRing::new(db.clone(), sealing, config.jwt_algorithm);
                (ring.load(clock.now()).await?, Some(ring))
            }
            _ => {
                if config.database == DatabaseKind::Postgres {
                    tracing::warn!(
                        "the JWT signing keys are in this server's data folder: servers sharing \
                         the database but not the folder refuse each other's tokens \
                         (set JWT_KEY_ENCRYPTION_KEY to keep them in the database)"
                    );
                }
                (KeyRing::load(&config, clock.now())?, None)
            }
        };
        let passwords = Passwords::new(config.hash_concurrency, config.hash_queue);
        let sessions: Arc<dyn SessionBackend> = match config.session_store {
            SessionStoreKind::Sqlite | SessionStoreKind::Postgres => {
                Arc::new(SqlSessionStore::new(db.clone(), clock.clone()))
            }
            SessionStoreKind::Memory => Arc::new(MemorySessionStore::new(clock.clone())),
            SessionStoreKind::Redis => Arc::new(RedisSessionStore::open(
                config.redis_url.as_deref().unwrap_or_default(),
                clock.clone(),
            )?),
        };
        // Every store this server can reach, for the compare page to measure side by side:
        // its own (the one it keeps sessions in, no second connection to it), and of the
        // others a memory store, its database's table, and Redis when it has one.
        let mut reachable: Vec<Arc<dyn SessionBackend>> = vec![Arc::clone(&sessions)];
        let own = sessions.kind();
        if own != SessionStoreKind::Memory {
            reachable.push(Arc::new(MemorySessionStore::new(clock.clone())));
        }
        if own != db.kind().session_store() {
            reachable.push(Arc::new(SqlSessionStore::new(db.clone(), clock.clone())));
        }
        if let Some(url) = &config.redis_url
            && own != SessionStoreKind::Redis
        {
            reachable.push(Arc::new(RedisSessionStore::open(url, clock.clone())?));
        }
        let mut jwt = JwtMode::new(db.clone(), clock.clone(), &config, keys);
        if let Some(ring) = database_ring {
            jwt.keep_keys_from(ring);
        }
        let mut sign_in_throttle = SignInThrottle::new(config.sign_in_limits);
        if let Some(url) = &config.redis_url {
            sign_in_throttle.share(SharedCounts::open(url)?);
        }
        jwt.start_denylist(config.redis_url.as_deref()).await?;
        let auth = Auth::new(
            SessionMode::new(sessions, db.clone(), clock.clone(), &config),
            jwt,
            db.clone(),
            passwords,
            (sign_in_throttle, SignUpThrottle::new(config.sign_up_limits)),
            clock.clone(),
            config.cookie_names(),
            config.secure_cookies(),
            ActivityLog::new(
                db.clone(),
                clock.clone(),
                ActivityLimits {
                    entries: config.activity_keep_entries as i64,
                    max_age: config.activity_keep,
                },
            ),
        );
        let load = Arc::new(LoadGenerator::new(reachable, clock.clone()));
        Ok(AppState(Arc::new(Shared {
            leptos_options: config.leptos_options.clone(),
            config: Arc::new(config),
            db,
            auth,
            clock,
            metrics: Arc::new(Metrics::default()),
            load,
            draining: Default::default(),
        })))
    }

    /// The state, from inside a server function or a component rendering on the server.
    pub fn from_context() -> Result<Self, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState is not in the Leptos context");
            AppError::Internal
        })
    }
}
