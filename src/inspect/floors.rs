//! Each way of recognising a request beside its floor, measured on this server: the least that
//! way could cost here. A JWT cannot cost less than decoding and checking its signature; a
//! session cannot cost less than reading its row. What a session costs beyond the read is the
//! trip to the store. And the articles' first argument: checking the password on every request
//! would cost an argon2 verification each time.

use std::{
    future::Future,
    hint::black_box,
    time::{Duration, Instant},
};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    auth::{Auth, Credentials, password::Password, session::state::hash_session_id},
    db::{Db, UserRecord},
    error::AppError,
    model::{DatabaseKind, Floors, SessionStoreKind},
};

/// Calls per floor: enough for a stable median of a few microseconds, few enough that the
/// pool's reads (about 0.1 ms each) stay well under a second.
const CALLS: u32 = 200;

/// The median time of one call in µs: `batches` batches of `calls` calls, each batch's mean,
/// the median batch.
pub async fn median_micros<F, Fut, T>(batches: u32, calls: u32, mut call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let mut means: Vec<Duration> = Vec::new();
    for _ in 0..batches.max(1) {
        let started = Instant::now();
        for _ in 0..calls.max(1) {
            black_box(call().await);
        }
        means.push(started.elapsed() / calls.max(1));
    }
    means.sort();
    means[means.len() / 2].as_secs_f64() * 1e6
}

async fn time<F, Fut, T>(call: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    median_micros(5, CALLS, call).await
}

/// Measures the floors with the burst's own credentials: `jwt` presents an access token this
/// server signed, `session` a live cookie session.
pub async fn measure(
    auth: &Auth,
    db: &Db,
    user: &UserRecord,
    jwt: &Credentials,
    session: &Credentials,
) -> Result<Floors, AppError> {
    let token = match jwt.access_token() {
        Some(Ok((token, _))) => token.to_owned(),
        _ => return Err(AppError::Internal),
    };
    let now = auth.now();
    let signing_input = &token[..token.rfind('.').unwrap_or(token.len())];
    // The key's bytes do not change what an HMAC costs.
    let hmac_micros = time(|| async {
        let mut mac = Hmac::<Sha256>::new_from_slice(&[0; 32]).expect("any key length");
        mac.update(signing_input.as_bytes());
        mac.finalize().into_bytes()
    })
    .await;
    // The other algorithm a server may sign with (`JWT_ALGORITHM=EdDSA`): checking an Ed25519
    // signature over the same input. The key does not change the cost either.
    let ed25519 = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let signature = ed25519_dalek::Signer::sign(&ed25519, signing_input.as_bytes());
    let verifying = ed25519.verifying_key();
    let ed25519_verify_micros = time(|| async {
        ed25519_dalek::Verifier::verify(&verifying, signing_input.as_bytes(), &signature).is_ok()
    })
    .await;
    let (key, rules) = auth.jwt_decoding(now).ok_or(AppError::Internal)?;
    // Into a JSON value: the claims read, as any use of a token reads them.
    let jwt_decode_micros =
        time(|| async { jsonwebtoken::decode::<serde_json::Value>(&token, &key, &rules).is_ok() })
            .await;

    let (sqlite_read_micros, sqlite_pool_read_micros) = match (
        auth.session_settings().store,
        session.session.as_deref().and_then(|id| id.parse().ok()),
    ) {
        (SessionStoreKind::Sqlite, Some(id)) => {
            let id_hash = hash_session_id(&id);
            let direct = time(|| db.live_session_data_read(&id_hash, now)).await;
            let pooled = time(|| db.live_session_data_pooled(&id_hash, now)).await;
            (Some(direct), Some(pooled))
        }
        _ => (None, None),
    };

    let redis_round_trip_micros = match auth.session_settings().store {
        SessionStoreKind::Redis => Some(time(|| auth.ping_session_store()).await),
        SessionStoreKind::Sqlite | SessionStoreKind::Postgres | SessionStoreKind::Memory => None,
    };
    let postgres_round_trip_micros = match db.kind() {
        DatabaseKind::Postgres => Some(time(|| db.ping()).await),
        DatabaseKind::Sqlite => None,
    };

    // A wrong password costs exactly what the right one does; nobody signs in.
    let typed = Password::for_sign_in("not the password".into())?;
    let started = Instant::now();
    auth.passwords()
        .verify(&typed, Some(&user.password_hash))
        .await?;
    let argon2_micros = started.elapsed().as_secs_f64() * 1e6;

    Ok(Floors {
        hmac_micros,
        ed25519_verify_micros,
        jwt_decode_micros,
        sqlite_read_micros,
        sqlite_pool_read_micros,
        redis_round_trip_micros,
        postgres_round_trip_micros,
        argon2_micros,
    })
}
