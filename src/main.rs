//! The ticketbooth server: read the configuration, open the database, serve.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    use ticketbooth::server::{self, clock::Clock, config::Config};
    use tracing_subscriber::EnvFilter;

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    // cargo-leptos passes the Leptos settings in the environment; a binary started by hand
    // reads them from Cargo.toml.
    let from = std::env::var_os("LEPTOS_OUTPUT_NAME")
        .is_none()
        .then_some("Cargo.toml");
    let leptos_options = match leptos::config::get_configuration(from) {
        Ok(configuration) => configuration.leptos_options,
        Err(error) => {
            eprintln!("ticketbooth: cannot read the Leptos settings: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = match Config::from_env(leptos_options) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ticketbooth: configuration error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = config.leptos_options.site_addr;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("ticketbooth: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match server::start(config, Clock::default(), listener).await {
        Ok(running) => {
            // The database URL is not logged: elsewhere than SQLite it carries a password.
            tracing::info!("listening on http://{}", running.addr);
            running.run_until_signal().await;
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ticketbooth: cannot start: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary: its entry point is `ticketbooth::hydrate`.
}
