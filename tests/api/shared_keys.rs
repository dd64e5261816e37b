//! The JWT key ring kept in the database (`JWT_KEY_ENCRYPTION_KEY`): every server of one
//! database signs and verifies with the same keys, a rotation made on one reaches the others
//! without a restart, and a server holding another encryption key refuses to start. On SQLite
//! and on PostgreSQL alike.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::{Method, StatusCode};
use ticketbooth::auth::jwt::shared_keys::{DatabaseRing, SIGNS_AFTER};
use ticketbooth::core::config::{Secret, SigningAlgorithm};

use crate::helpers::*;

fn sealing_key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

/// Two servers of one database, each with a data folder of its own, under one public URL (as
/// behind one balancer: their tokens name it as their issuer).
async fn two_servers() -> (TestApp, TestApp) {
    let sealing = sealing_key(7);
    let a = spawn_app_with(&[("JWT_KEY_ENCRYPTION_KEY", &sealing)]).await;
    let b = a
        .try_instance_on_the_same_database(&[("PUBLIC_URL", &a.base)])
        .await
        .unwrap();
    (a, b)
}

fn kid(token: &str) -> String {
    part(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    with_bearer(app, Method::GET, "/api/me", token)
        .await
        .status()
}

#[tokio::test]
async fn every_server_of_one_database_signs_with_the_same_sealed_keys() {
    let (a, b) = two_servers().await;
    let from_a = api_user(&a, "ada").await;
    let from_b = api_token(&b, "ada").await;
    assert_eq!(kid(&from_a.access_token), kid(&from_b.access_token));
    assert_eq!(me(&b, &from_a.access_token).await, StatusCode::OK);
    assert_eq!(me(&a, &from_b.access_token).await, StatusCode::OK);
    // A refresh token issued by one server is exchanged by the other: one successor key.
    let refreshed = api()
        .post(format!("{}/api/token/refresh", b.base))
        .json(&serde_json::json!({"refresh_token": from_a.refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    // Nothing in either data folder: the ring is in the database, and only sealed there.
    for app in [&a, &b] {
        assert!(!app.data_dir().join("jwt-keys.json").exists());
    }
    let rows = a.server.state.db.signing_keys().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sealed.len(), 24 + 32 + 16, "nonce, secret, tag");
}

#[tokio::test]
async fn a_rotation_on_one_server_reaches_every_server_without_a_restart() {
    let (a, b) = two_servers().await;
    let old = api_user(&a, "bea").await;
    let old_kid = kid(&old.access_token);
    let keep_old_for = 600;
    let new_kid = a
        .server
        .state
        .auth
        .jwt()
        .rotate_shared_keys(keep_old_for)
        .await
        .unwrap()
        .expect("the keys are in the database");
    assert_ne!(new_kid, old_kid);

    // Each server's next reading: the new key verifies everywhere, and nobody signs with it yet.
    for app in [&a, &b] {
        assert!(app.server.state.auth.jwt().read_keys_again().await.unwrap());
    }
    assert_eq!(kid(&api_token(&b, "bea").await.access_token), old_kid);

    // Once it signs, it signs on every server, and the old key's tokens stay valid.
    a.clock.advance(SIGNS_AFTER);
    for app in [&a, &b] {
        app.server.state.auth.jwt().read_keys_again().await.unwrap();
    }
    let new = api_token(&b, "bea").await;
    assert_eq!(kid(&new.access_token), new_kid);
    assert_eq!(me(&a, &new.access_token).await, StatusCode::OK);
    assert_eq!(me(&b, &old.access_token).await, StatusCode::OK);
}

#[tokio::test]
async fn another_encryption_key_neither_starts_a_server_nor_rotates() {
    let (a, _b) = two_servers().await;
    let error = a
        .try_instance_on_the_same_database(&[("JWT_KEY_ENCRYPTION_KEY", &sealing_key(8))])
        .await
        .err()
        .expect("the server must not start");
    assert!(error.contains("JWT_KEY_ENCRYPTION_KEY"), "{error}");

    let db = a.server.state.db.clone();
    let before = db.signing_keys().await.unwrap();
    let wrong = DatabaseRing::new(
        db.clone(),
        &Secret::new(vec![8; 32]),
        SigningAlgorithm::Hs256,
    );
    assert!(wrong.rotate(a.clock.now(), 600).await.is_err());
    assert_eq!(db.signing_keys().await.unwrap(), before);
}
