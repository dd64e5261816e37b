//! The top layer: the router and its middleware, the background sweeper, start and stop.

pub mod middleware;
pub mod serve;

use std::{net::SocketAddr, sync::OnceLock, time::Duration};

use axum::{Router, middleware::from_fn, middleware::from_fn_with_state};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower::ServiceBuilder;
use tower_cookies::CookieManagerLayer;

use crate::{
    api::state::{self, AppState},
    app::{App, shell},
    core::{clock::Clock, config::Config},
    error::AppError,
};
use middleware::{errors, headers, limits, origin, recognise};

/// How often expired sessions are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// The whole app as one axum router.
pub fn router(state: AppState) -> Router {
    let routes = page_routes();
    let options = state.leptos_options.clone();
    // Listed outermost first.
    let pipeline = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .layer(from_fn_with_state(state.clone(), limits::limit_body))
        .layer(from_fn_with_state(
            state.clone(),
            origin::refuse_cross_origin,
        ))
        // The response's cookie jar, where modes' cookie changes are applied.
        .layer(CookieManagerLayer::new())
        .layer(from_fn(errors::server_fn_statuses))
        .layer(from_fn_with_state(state.clone(), recognise::recognise))
        .layer(from_fn(recognise::guard_pages));
    Router::new()
        .merge(crate::api::http::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(pipeline)
        .with_state(state)
}

/// The app's pages, found by rendering the app once, made once per process.
///
/// Leptos renders that once with resource loading switched off by a flag shared by the whole
/// process (leptos-rs/leptos#4773): a resource that a page on another server of this process
/// first polls meanwhile waits forever, and that page's response never ends. The test suites run
/// dozens of servers in one process, and hung a request now and then until the list was made
/// only once, before any server can serve.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Deletes every expired session and every refresh family that is wholly expired; returns how
/// many.
pub async fn sweep_expired(state: &AppState) -> Result<u64, AppError> {
    state.auth.sweep_expired().await
}

/// A server accepting connections, until [`RunningServer::stop`].
pub struct RunningServer {
    pub state: AppState,
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    serving: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    State(#[from] state::BuildError),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state, starts the sweeper and serves on `listener`.
pub async fn start(
    config: Config,
    clock: Clock,
    listener: TcpListener,
) -> Result<RunningServer, StartError> {
    let addr = listener.local_addr()?;
    let state = AppState::build(config, clock).await?;
    let sweeper = tokio::spawn({
        let state = state.clone();
        async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                every.tick().await;
                match sweep_expired(&state).await {
                    Ok(0) => {}
                    Ok(swept) => tracing::info!(swept, "deleted expired sessions and families"),
                    Err(error) => tracing::error!(%error, "sweeping expired sessions failed"),
                }
            }
        }
    });
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let serving = tokio::spawn(serve::serve(
        listener,
        router(state.clone()),
        Duration::from_secs(state.config.request_header_timeout.unsigned_abs()),
        Duration::from_secs(state.config.shutdown_grace.unsigned_abs()),
        shutdown_signal,
    ));
    Ok(RunningServer {
        state,
        addr,
        shutdown,
        serving,
        sweeper,
    })
}

impl RunningServer {
    /// Finishes the requests in flight, then closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.serving.await;
        self.sweeper.abort();
        self.state.db.close().await;
    }

    /// The first step of a stop: `/readyz` answers 503 ("draining") while everything else
    /// is served as before, for `SHUTDOWN_DRAIN`, so that a load balancer checking it sends
    /// its next requests elsewhere before this server stops accepting them.
    pub async fn drain(&self) {
        self.state
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let drain = self.state.config.shutdown_drain;
        if drain > 0 {
            tracing::info!(seconds = drain, "draining: /readyz answers 503");
            tokio::time::sleep(Duration::from_secs(drain.unsigned_abs())).await;
        }
    }

    /// Serves until the process gets Ctrl-C or SIGTERM, then drains and stops cleanly.
    pub async fn run_until_signal(self) {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            if let Ok(mut signal) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                signal.recv().await;
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate => {}
        }
        tracing::info!("shutting down");
        self.drain().await;
        self.stop().await;
    }
}
