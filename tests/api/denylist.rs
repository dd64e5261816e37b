//! The denylist setting beyond one process: a restart forgets no kill (the list is rebuilt
//! from the database), and with a shared Redis a kill on one instance reaches the others at
//! once.

use std::time::Instant;

use reqwest::StatusCode;

use crate::{helpers::*, redis_server::RedisServer};

/// Two devices of one account, by the JSON API: the second kills the first.
async fn killed_device(app: &TestApp, username: &str) -> (Tokens, Tokens) {
    let victim = api_user(app, username).await;
    let killer = api_token(app, username).await;
    (victim, killer)
}

#[tokio::test]
async fn a_restart_forgets_no_kill() {
    let app = spawn_app_with(&[("JWT_REVOCATION", "denylist")]).await;
    let (victim, killer) = killed_device(&app, "ada").await;
    kill(&app, &killer, &device_of(&victim)).await;
    assert_refused(me(&app, &victim.access_token).await, "revoked").await;

    let app = app.restart().await;

    assert_refused(me(&app, &victim.access_token).await, "revoked").await;
    assert_eq!(
        me(&app, &killer.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_kill_on_one_instance_reaches_another_through_redis_at_once() {
    let redis = RedisServer::start();
    let first =
        spawn_app_with(&[("JWT_REVOCATION", "denylist"), ("REDIS_URL", &redis.url())]).await;
    let second = first.another_instance().await;
    let (victim, killer) = killed_device(&first, "bea").await;
    assert_eq!(
        me(&second, &victim.access_token).await.status(),
        StatusCode::OK
    );
    // Both instances listen before the kill, so that the second hears it rather than reading
    // it from the database when it starts listening.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut listeners = 0;
    for _ in 0..1000 {
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("tb:denied")
            .query_async(&mut connection)
            .await
            .unwrap();
        listeners = count;
        if listeners == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(listeners, 2, "both instances listen");

    let killed = Instant::now();
    kill(&first, &killer, &device_of(&victim)).await;
    let mut refused = false;
    for _ in 0..1000 {
        if me(&second, &victim.access_token).await.status() == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
    }
    let reached = killed.elapsed();

    assert!(refused, "the second instance never heard of the kill");
    println!("a kill reached the other instance in {reached:?}");
    assert_refused(me(&second, &victim.access_token).await, "revoked").await;
}
