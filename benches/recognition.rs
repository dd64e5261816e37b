//! What recognising a request costs, per mode and JWT revocation setting, in an optimised build:
//!
//! ```sh
//! cargo bench --features ssr --bench recognition            # 5 × 1000 requests per column
//! BENCH_REQUESTS=200 BENCH_ROUNDS=2 cargo bench --features ssr --bench recognition
//! ```
//!
//! It runs the compare page's own burst (the same measurement the server makes of every live
//! request) against a fresh SQLite database in a temporary folder, after a warm-up whose figures
//! are thrown away, and prints the medians, p99s, queries and credential bytes as a table.
//!
//! Then each mode beside its floor, as the compare page measures them (`inspect::floors`):
//! recognising a JWT beside `jsonwebtoken::decode` alone and an HMAC-SHA256 of its signing input;
//! recognising a SQLite session beside the row's read on the asking thread, and the same read
//! through sqlx's pool; and an argon2 verification with the server's parameters, the cost of
//! checking the password on every request instead.

use leptos::config::LeptosOptions;
use ticketbooth::{
    api::state::AppState,
    auth::CurrentUser,
    core::{client::ClientInfo, clock::Clock, config::Config},
    inspect::{
        floors::{measure, median_micros},
        load::{BURST_COOLDOWN, comparison},
        metrics::SAMPLES_KEPT,
    },
    model::{KillEffect, Mode, Revocation, describe_seconds},
};

fn setting(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let requests = setting("BENCH_REQUESTS", 1000);
    let rounds = setting("BENCH_ROUNDS", 5);
    let data = tempfile::tempdir().expect("a temporary folder");
    let data_dir = data.path().display().to_string();
    let options = LeptosOptions::builder().output_name("ticketbooth").build();
    let config = Config::from_lookup(options, |name| match name {
        "DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    })
    .expect("the default configuration");
    let state = AppState::build(config, Clock::default())
        .await
        .expect("the server's state");
    let user = state
        .auth
        .create_account("127.0.0.1", "bench", "correct horse battery staple".into())
        .await
        .expect("an account");
    let current = CurrentUser {
        user_id: user.id,
        username: user.username,
        role: user.role,
        mode: Mode::Session,
        device_id: String::new(),
    };
    // The burst issues credentials, so it needs a confirmed live user; a cookie-session user
    // recognised by its store is one.
    let current = state.auth.confirm_live(current).await.expect("a live user");

    // Warm-up: caches, connections, allocator. Its figures are dropped.
    state
        .load
        .run(
            &state.auth,
            &state.db,
            &state.metrics,
            &current,
            requests.min(200),
        )
        .await
        .expect("warm-up");
    state.metrics.clear();
    for _ in 0..rounds {
        // Past the cooldown between one user's bursts.
        state.clock.advance(BURST_COOLDOWN);
        state
            .load
            .run(&state.auth, &state.db, &state.metrics, &current, requests)
            .await
            .expect("a burst");
    }

    let figures = comparison(&state.auth, &state.metrics);
    println!(
        "\nrecognition cost, {} requests per column ({rounds} rounds of {requests}; the last {} kept)\n",
        u64::from(requests) * u64::from(rounds),
        SAMPLES_KEPT
    );
    println!(
        "| column | median | p99 | queries/request | credential bytes | a kill takes effect |"
    );
    println!("|---|---|---|---|---|---|");
    for column in figures.columns {
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1} | {:.0} | {} |",
            column.column.label(),
            column.median_micros,
            column.p99_micros,
            column.queries_per_request,
            column.bytes_per_request,
            match column.kill_takes_effect {
                Some(KillEffect::AtOnce) => "at once".to_owned(),
                Some(KillEffect::AtExpiry { seconds_after_kill }) => {
                    format!("at exp, {}", describe_seconds(seconds_after_kill))
                }
                None => "not measured".to_owned(),
            }
        );
    }

    floors(&state, &user_record(&state).await).await;
}

async fn user_record(state: &AppState) -> ticketbooth::db::UserRecord {
    state
        .db
        .user_by_username("bench")
        .await
        .expect("the database answers")
        .expect("the account")
}

/// Recognition of a fresh JWT and a fresh session (median of 9 × 2000 calls), beside the floors
/// the compare page measures (`inspect::floors`).
async fn floors(state: &AppState, user: &ticketbooth::db::UserRecord) {
    let client = ClientInfo::in_process("bench");
    let auth = &state.auth;
    let pair = auth.start_jwt(user, &client).await.expect("a token pair");
    let jwt = auth.presenting_access_token(pair.access_token);
    let (session_id, _) = auth.open_session(user, &client).await.expect("a session");
    let session = auth.presenting_session(session_id);
    let client = &client;
    let jwt_micros = median_micros(9, 2000, || {
        auth.recognise_with(&jwt, client, Revocation::Pure)
    })
    .await;
    let session_micros = median_micros(9, 2000, || {
        auth.recognise_with(&session, client, Revocation::Pure)
    })
    .await;
    let floors = measure(auth, &state.db, user, &jwt, &session)
        .await
        .expect("the floors");
    let read = floors.sqlite_read_micros.expect("sessions are in SQLite");
    let pooled = floors
        .sqlite_pool_read_micros
        .expect("sessions are in SQLite");

    println!("\neach mode beside its floor (medians, in process)\n");
    println!("| what | time | × its floor |");
    println!("|---|---|---|");
    println!(
        "| HMAC-SHA256 of the token's signing input | {:.2} µs | |",
        floors.hmac_micros
    );
    println!(
        "| `jsonwebtoken::decode` alone | {:.2} µs | |",
        floors.jwt_decode_micros
    );
    println!(
        "| recognising the JWT (pure) | {:.2} µs | {:.1} × decode, {:.1} × HMAC |",
        jwt_micros,
        jwt_micros / floors.jwt_decode_micros,
        jwt_micros / floors.hmac_micros
    );
    println!("| the session row's read on the asking thread | {read:.2} µs | |");
    println!(
        "| the same read through sqlx's pool | {:.2} µs | {:.1} × the read |",
        pooled,
        pooled / read
    );
    println!(
        "| recognising the SQLite session | {:.2} µs | {:.1} × the read |",
        session_micros,
        session_micros / read
    );
    println!(
        "| one argon2id verification (checking the password every request) | {:.0} µs | {:.0} × the session, {:.0} × the JWT |",
        floors.argon2_micros,
        floors.argon2_micros / session_micros,
        floors.argon2_micros / jwt_micros
    );
}
