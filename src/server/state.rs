//! The state every request shares, built once at start-up.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::{config::LeptosOptions, prelude::use_context};

use super::{clock::Clock, config::Config};
use crate::{
    auth::{Auth, password::Passwords, session::SessionMode},
    db::Db,
    error::AppError,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: Db,
    pub auth: Auth,
    pub clock: Clock,
}

impl AppState {
    /// Opens the database (applying migrations) and sets up the modes.
    pub async fn build(config: Config, clock: Clock) -> Result<Self, sqlx::Error> {
        let db = Db::open(&config.database_url).await?;
        let passwords = Passwords::new(config.hash_concurrency, config.hash_queue);
        let session_mode = SessionMode::new(db.clone(), clock.clone(), &config);
        let auth = Auth::new(
            vec![Arc::new(session_mode)],
            db.clone(),
            passwords,
            clock.clone(),
        );
        Ok(AppState {
            leptos_options: config.leptos_options.clone(),
            config: Arc::new(config),
            db,
            auth,
            clock,
        })
    }

    /// The state, from inside a server function or a component rendering on the server.
    pub fn from_context() -> Result<Self, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState is not in the Leptos context");
            AppError::Internal
        })
    }
}
