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
        Some("rotate-jwt-key") => return rotate_jwt_key(&config).await,
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

/// Adds a new current signing key to the key ring; the old ones keep verifying long enough for
/// every token they signed to expire. In the key file, running servers use the new key after a
/// restart; in the database (`JWT_KEY_ENCRYPTION_KEY`), every server signs with it within a
/// minute, without one.
#[cfg(feature = "ssr")]
async fn rotate_jwt_key(config: &ticketbooth::core::config::Config) -> std::process::ExitCode {
    use ticketbooth::{
        auth::jwt::{
            claims::LEEWAY,
            keys::KeyRing,
            shared_keys::{DatabaseRing, RELOAD_EVERY, SIGNS_AFTER},
        },
        core::{clock::Clock, config::KeySource},
        db::Db,
    };
    let keep_old_for = config.access_token_ttl + LEEWAY + 60;
    let now = Clock::default().now();
    let rotated = match (config.key_source(), &config.jwt_key_encryption_key) {
        (KeySource::Database, Some(sealing)) => {
            let db = match Db::open(&config.database_url).await {
                Ok(db) => db,
                Err(error) => {
                    eprintln!("ticketbooth: cannot open the database: {error}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let ring = DatabaseRing::new(db.clone(), sealing, config.jwt_algorithm);
            let rotated = ring.rotate(now, keep_old_for).await;
            db.close().await;
            rotated.map(|kid| {
                format!(
                    "{kid}: every server verifies it within {} s and signs with it {SIGNS_AFTER} s \
                     from now, without a restart",
                    RELOAD_EVERY.as_secs()
                )
            })
        }
        _ => KeyRing::rotate_file(config, now, keep_old_for)
            .map(|kid| format!("{kid}: restart the server to sign with it")),
    };
    match rotated {
        Ok(what) => {
            println!(
                "new signing key {what}; the previous keys verify for {keep_old_for} more seconds \
                 after that."
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
