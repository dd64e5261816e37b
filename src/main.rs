//! The ticketbooth server: read the configuration, open the database, serve.

#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    use ticketbooth::{
        core::{clock::Clock, config::Config},
        server,
    };
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
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("rotate-jwt-key") => return rotate_jwt_key(&config),
        Some("make-admin") => return make_admin(&config, std::env::args().nth(2)).await,
        Some(other) => {
            eprintln!(
                "ticketbooth: unknown command {other:?}; commands: serve (default), \
                 rotate-jwt-key, make-admin NAME"
            );
            return ExitCode::from(2);
        }
    }
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

/// Adds a new current signing key to the key file; the old ones keep verifying long enough for
/// every token they signed to expire. Running servers use the new key after a restart.
#[cfg(feature = "ssr")]
fn rotate_jwt_key(config: &ticketbooth::core::config::Config) -> std::process::ExitCode {
    use ticketbooth::{
        auth::jwt::{claims::LEEWAY, keys::KeyRing},
        core::clock::Clock,
    };
    let keep_old_for = config.access_token_ttl + LEEWAY + 60;
    match KeyRing::rotate_file(config, Clock::default().now(), keep_old_for) {
        Ok(kid) => {
            println!(
                "new signing key {kid}; the previous keys verify for {keep_old_for} more seconds. \
                 Restart the server to sign with it."
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ticketbooth: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `ticketbooth make-admin NAME`: the account NAME becomes an administrator.
#[cfg(feature = "ssr")]
async fn make_admin(
    config: &ticketbooth::core::config::Config,
    name: Option<String>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let Some(name) = name.filter(|name| !name.is_empty()) else {
        eprintln!("ticketbooth: usage: ticketbooth make-admin NAME");
        return ExitCode::from(2);
    };
    let db = match ticketbooth::db::Db::open(&config.database_url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("ticketbooth: cannot open the database: {error}");
            return ExitCode::FAILURE;
        }
    };
    let now = ticketbooth::core::clock::system_now();
    let made = ticketbooth::auth::admin::make_admin(&db, &name, now).await;
    db.close().await;
    match made {
        Ok(true) => {
            println!("{name} is an administrator now: /admin");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("ticketbooth: no account is called {name:?}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("ticketbooth: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary: its entry point is `ticketbooth::hydrate`.
}
