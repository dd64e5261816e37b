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
//! Then each mode beside its floor, timed in process on the same data: recognising a JWT beside
//! `jsonwebtoken::decode` alone and an HMAC-SHA256 of its signing input; recognising a SQLite
//! session beside one primary-key read on a plain SQLite connection, and the same read through
//! sqlx's pool; and an argon2 verification with the server's parameters, the cost of checking
//! the password on every request instead.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use leptos::config::LeptosOptions;
use sha2::Sha256;
use ticketbooth::{
    api::state::AppState,
    auth::{CurrentUser, session::state::hash_session_id},
    core::{client::ClientInfo, clock::Clock, config::Config},
    inspect::{
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
        "JWT_SECRET" => Some(STANDARD.encode(SECRET)),
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

    floors(&state, &user_record(&state).await, &data_dir).await;
}

/// The signing secret of the benchmark's server, so that `jsonwebtoken::decode` can be timed on
/// its own with the same key.
const SECRET: [u8; 32] = [7; 32];

async fn user_record(state: &AppState) -> ticketbooth::db::UserRecord {
    state
        .db
        .user_by_username("bench")
        .await
        .expect("the database answers")
        .expect("the account")
}

/// The median time of one call, over 9 batches of `CALLS`.
async fn time<F, Fut, T>(mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    const CALLS: u32 = 2_000;
    let mut batches = Vec::new();
    for _ in 0..9 {
        let started = Instant::now();
        for _ in 0..CALLS {
            black_box(call().await);
        }
        batches.push(started.elapsed() / CALLS);
    }
    batches.sort();
    batches[batches.len() / 2]
}

async fn floors(state: &AppState, user: &ticketbooth::db::UserRecord, data_dir: &str) {
    let client = ClientInfo::in_process("bench");
    let auth = &state.auth;

    let pair = auth.start_jwt(user, &client).await.expect("a token pair");
    let token = pair.access_token;
    let presented_token = auth.presenting_access_token(token.clone());
    let jwt = time(|| auth.recognise_with(&presented_token, &client, Revocation::Pure)).await;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&["ticketbooth"]);
    validation.validate_aud = true;
    let key = DecodingKey::from_secret(&SECRET);
    let decode = time(|| async {
        jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok()
    })
    .await;
    let signing_input = &token[..token.rfind('.').expect("a JWT")];
    let hmac = time(|| async {
        let mut mac = Hmac::<Sha256>::new_from_slice(&SECRET).expect("any key length");
        mac.update(signing_input.as_bytes());
        mac.finalize().into_bytes()
    })
    .await;

    let (session_id, _) = auth.open_session(user, &client).await.expect("a session");
    let presented_session = auth.presenting_session(session_id.clone());
    let session = time(|| auth.recognise_with(&presented_session, &client, Revocation::Pure)).await;
    let id_hash = hash_session_id(&session_id.parse().expect("a session id"));
    let now = state.clock.now();
    let plain = rusqlite::Connection::open(format!("{data_dir}/ticketbooth.db"))
        .expect("the database file");
    let mut statement = plain
        .prepare("select data, expires_at from sessions where id_hash = ? and expires_at > ?")
        .expect("the query");
    let read = time(|| {
        let found = statement
            .query_row((&id_hash, now), |row| row.get::<_, i64>(1))
            .is_ok();
        async move { found }
    })
    .await;
    let pooled = time(|| state.db.live_session_data_pooled(&id_hash, now)).await;

    let password =
        ticketbooth::auth::password::Password::for_sign_in("correct horse battery staple".into())
            .expect("a password");
    let started = Instant::now();
    let verified = auth
        .passwords()
        .verify(&password, Some(&user.password_hash))
        .await
        .expect("a verification");
    let argon2 = started.elapsed();
    assert!(verified);

    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!("\neach mode beside its floor (median of 9 × 2000 calls, in process)\n");
    println!("| what | time | × its floor |");
    println!("|---|---|---|");
    println!(
        "| HMAC-SHA256 of the token's signing input | {:.2} µs | |",
        micros(hmac)
    );
    println!(
        "| `jsonwebtoken::decode` alone | {:.2} µs | |",
        micros(decode)
    );
    println!(
        "| recognising the JWT (pure) | {:.2} µs | {:.1} × decode, {:.1} × HMAC |",
        micros(jwt),
        micros(jwt) / micros(decode),
        micros(jwt) / micros(hmac)
    );
    println!(
        "| SQLite primary-key read, plain connection | {:.2} µs | |",
        micros(read)
    );
    println!(
        "| the same read through sqlx's pool | {:.2} µs | {:.1} × the plain read |",
        micros(pooled),
        micros(pooled) / micros(read)
    );
    println!(
        "| recognising the SQLite session | {:.2} µs | {:.1} × the plain read |",
        micros(session),
        micros(session) / micros(read)
    );
    println!(
        "| one argon2id verification (checking the password every request) | {:.0} µs | {:.0} × the session, {:.0} × the JWT |",
        micros(argon2),
        micros(argon2) / micros(session),
        micros(argon2) / micros(jwt)
    );
}
