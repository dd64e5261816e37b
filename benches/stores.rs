//! Where the server keeps its half of the ticket, measured side by side: recognising a cookie
//! session kept in memory (the desk), in SQLite (the drawer), in PostgreSQL (the warehouse)
//! and in Redis (the shared desk), and a JWT (nothing kept), each beside its floor, in an
//! optimised build. Redis and PostgreSQL are real servers on Unix sockets, started for the run
//! (this bench a `redis-server`; `.ci/with-postgres` a throwaway PostgreSQL cluster):
//!
//! ```sh
//! make bench-stores   # or: .ci/with-postgres cargo bench --features ssr --bench stores
//! ```
//!
//! Each figure is the median of 9 batches of 2000 calls of the server's own recognition
//! (cookie parsing, the ID's hash, the store's read, the state's decoding), after a warm-up.
//! Beside them: the floors (a bare Redis PING and a bare PostgreSQL `SELECT 1`, each on the
//! store's own kind of connection), and the devices page's listing of a user's 10 sessions in
//! each store. The articles predict desk < shared desk < drawer < warehouse; the last line says
//! whether the measurements agree.

// Shared with the tests, which also restart it; this bench only starts it.
#[allow(dead_code)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "../tests/support/postgres.rs"]
mod postgres;

use leptos::config::LeptosOptions;
use redis_server::RedisServer;
use ticketbooth::{
    api::state::AppState,
    auth::CurrentUser,
    core::{client::ClientInfo, clock::Clock, config::Config},
    inspect::floors::median_micros,
    model::{Mode, Revocation},
};

/// One server's state with cookie sessions in `store`, and an account. Under "postgres" all
/// its data is in a fresh PostgreSQL database; otherwise in SQLite.
async fn server(store: &str, redis: &RedisServer) -> (tempfile::TempDir, AppState) {
    let data = tempfile::tempdir().expect("a temporary folder");
    let data_dir = data.path().display().to_string();
    let database_url = match store {
        "postgres" => Some(postgres::fresh_database_url().await),
        _ => None,
    };
    let (store, url) = (store.to_owned(), redis.url());
    let options = LeptosOptions::builder().output_name("ticketbooth").build();
    let config = Config::from_lookup(options, move |name| match name {
        "DATA_DIR" => Some(data_dir.clone()),
        "DATABASE_URL" => database_url.clone(),
        "SESSION_STORE" => Some(store.clone()),
        "REDIS_URL" if store == "redis" => Some(url.clone()),
        _ => None,
    })
    .expect("the configuration");
    let state = AppState::build(config, Clock::default())
        .await
        .expect("the server's state");
    state
        .auth
        .create_account("127.0.0.1", "bench", "correct horse battery staple".into())
        .await
        .expect("an account");
    (data, state)
}

struct Row {
    store: &'static str,
    recognise: f64,
    devices: f64,
}

#[tokio::main]
async fn main() {
    let redis = RedisServer::start();
    let client = ClientInfo::in_process("bench");
    let mut rows = Vec::new();
    let mut jwt = 0.0;
    let mut postgres_round_trip = 0.0;
    for (name, store) in [
        ("memory", "memory"),
        ("SQLite", "sqlite"),
        ("PostgreSQL", "postgres"),
        ("Redis", "redis"),
    ] {
        let (_data, state) = server(store, &redis).await;
        let auth = &state.auth;
        let user = state
            .db
            .user_by_username("bench")
            .await
            .expect("the database")
            .expect("the account");
        let mut sessions = Vec::new();
        for _ in 0..10 {
            sessions.push(
                auth.open_session(&user, &client)
                    .await
                    .expect("a session")
                    .0,
            );
        }
        let presented = auth.presenting_session(sessions[0].clone());
        let client = &client;
        // Warm-up: connections, caches, the allocator.
        median_micros(1, 500, || {
            auth.recognise_with(&presented, client, Revocation::Pure)
        })
        .await;
        let recognise = median_micros(9, 2000, || {
            auth.recognise_with(&presented, client, Revocation::Pure)
        })
        .await;
        let current = CurrentUser {
            user_id: user.id,
            username: user.username.clone(),
            role: user.role.clone(),
            mode: Mode::Session,
            device_id: String::new(),
        };
        let devices = median_micros(9, 200, || auth.devices(&current)).await;
        rows.push(Row {
            store: name,
            recognise,
            devices,
        });
        if store == "sqlite" {
            let pair = auth.start_jwt(&user, client).await.expect("a token pair");
            let token = auth.presenting_access_token(pair.access_token);
            jwt = median_micros(9, 2000, || {
                auth.recognise_with(&token, client, Revocation::Pure)
            })
            .await;
        }
        if store == "postgres" {
            postgres_round_trip = median_micros(9, 2000, || state.db.ping()).await;
        }
    }

    // The floors: a bare round trip to the same Redis, on a connection of the same kind.
    let redis_client = redis::Client::open(redis.url()).expect("the Redis URL");
    let connection = redis::aio::ConnectionManager::new(redis_client)
        .await
        .expect("a connection");
    let ping = median_micros(9, 2000, || {
        let mut connection = connection.clone();
        async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .expect("PONG")
        }
    })
    .await;

    println!("\nrecognising one request, by where the server keeps its half (medians)\n");
    println!("| kept in | recognising a request | the devices page (10 sessions) |");
    println!("|---|---|---|");
    for row in &rows {
        println!(
            "| {} | {:.1} µs | {:.1} µs |",
            row.store, row.recognise, row.devices
        );
    }
    println!("| nothing: a JWT (`pure`) | {jwt:.1} µs | — |");
    println!(
        "\nfloors: one bare Redis round trip (PING, Unix socket) {ping:.1} µs; one bare PostgreSQL round trip (SELECT 1 through the pool, Unix socket) {postgres_round_trip:.1} µs\n"
    );
    let order: Vec<&str> = {
        let mut sorted: Vec<&Row> = rows.iter().collect();
        sorted.sort_by(|a, b| a.recognise.total_cmp(&b.recognise));
        sorted.iter().map(|row| row.store).collect()
    };
    let predicted = ["memory", "Redis", "SQLite", "PostgreSQL"];
    println!(
        "the articles predict desk < shared desk < drawer < warehouse (memory < Redis < SQLite < PostgreSQL); measured: {} — {}",
        order.join(" < "),
        if order == predicted {
            "as predicted"
        } else {
            "not as predicted"
        }
    );
}
