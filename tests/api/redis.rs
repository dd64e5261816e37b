//! The shared desk: cookie sessions in a real Redis, shared by two servers, and what the app
//! does while Redis is down (503 with Retry-After, nobody signed out, JWTs unaffected) and once
//! it is back (it reconnects by itself).

use reqwest::StatusCode;
use serde_json::Value;

use crate::{helpers::*, redis_server::RedisServer};

async fn redis_app(redis: &RedisServer) -> TestApp {
    spawn_app_with(&[("SESSION_STORE", "redis"), ("REDIS_URL", &redis.url())]).await
}

#[tokio::test]
async fn two_servers_on_one_redis_recognise_the_same_session() {
    let redis = RedisServer::start();
    let first = redis_app(&redis).await;
    let second = redis_app(&redis).await;
    let browser = first.signed_in_browser("ada").await;
    let cookie = browser.session_cookie().expect("a session cookie");

    let elsewhere = get_with_session_cookie(&second, "/fn/viewer", &cookie).await;

    assert_eq!(elsewhere.status(), StatusCode::OK);
    let viewer: Value = elsewhere.json().await.unwrap();
    assert_eq!(viewer["username"], "ada");
    // A kill on one server is final on the other at once.
    let device = browser.devices().await[0].id.clone();
    assert_eq!(browser.kill(&device).await.status(), StatusCode::OK);
    let after = get_with_session_cookie(&second, "/fn/viewer", &cookie).await;
    assert_eq!(after.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test]
async fn while_redis_is_down_sessions_get_503_nobody_is_signed_out_and_jwts_work() {
    let mut redis = RedisServer::start();
    let app = redis_app(&redis).await;
    let browser = app.signed_in_browser("bea").await;
    let tokens = api_user(&app, "cyd").await;
    assert_eq!(readiness(&app).await.0, StatusCode::OK);

    redis.stop();

    let call = browser.get("/fn/viewer").await;
    assert_unavailable_keeping_the_cookie(&call);
    assert_eq!(error_body(call).await["error"], "store_unavailable");
    let page = load_page(&browser, "/dashboard").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&page), 5);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Unavailable for a moment")
    );
    assert_eq!(
        me(&app, &tokens.access_token).await.status(),
        StatusCode::OK,
        "a JWT needs no store"
    );
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["database"], true);
    assert_eq!(ready["session_store_up"], false);

    redis.restart();

    assert!(ready_again(&app).await, "/readyz recovered");
    // This Redis kept nothing on disk: its sessions are gone, and the browser signs in again.
    assert_eq!(browser.viewer().await, None);
    assert_redirects_to(&browser.log_in("bea", PASSWORD).await, "/dashboard");
    assert!(browser.viewer().await.is_some());
}

#[tokio::test]
async fn the_compare_page_measures_sessions_in_redis_beside_a_bare_round_trip() {
    let redis = RedisServer::start();
    let app = redis_app(&redis).await;
    let browser = app.signed_in_browser("dee").await;

    let response = browser
        .post_form("/fn/generate_load", &[("requests", "25")])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let comparison: ticketbooth::model::Comparison = response.json().await.unwrap();
    let floors = comparison.floors.expect("measured");
    assert!(
        floors
            .redis_round_trip_micros
            .is_some_and(|micros| micros > 0.0)
    );
    assert_eq!(floors.sqlite_read_micros, None, "no session rows in SQLite");
    let session = comparison
        .columns
        .iter()
        .find(|column| column.column.key() == "session")
        .unwrap();
    assert!(session.requests >= 25);
    assert_eq!(
        comparison.session_store,
        ticketbooth::model::SessionStoreKind::Redis
    );
    // With Redis reachable, the three stores side by side: the desk, the shared desk and the
    // server's database.
    let mut stores: Vec<&str> = comparison
        .store_reads
        .iter()
        .map(|read| read.store.key())
        .collect();
    stores.sort();
    let database = if on_postgres() { "postgres" } else { "sqlite" };
    let mut expected = ["memory", "redis", database];
    expected.sort();
    assert_eq!(stores, expected);
}
