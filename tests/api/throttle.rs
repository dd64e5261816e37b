//! Password guessing is slowed down: after a few failed sign-ins the next ones wait, refused
//! before anything is hashed, without telling whether the account exists and without locking
//! its owner out from elsewhere.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// The defaults: 5 failures per account and network within 15 minutes.
const PER_ACCOUNT: usize = 5;
const WINDOW: i64 = 15 * 60;

#[tokio::test]
async fn after_five_failures_even_the_right_password_waits_and_nothing_is_hashed() {
    let app = spawn_app().await;
    app.signed_in_browser("olga").await;
    let attacker = app.browser_at(host(2));
    fail(&attacker, "olga", PER_ACCOUNT).await;

    let hashes = app.hashes_run();
    let refused = attacker.log_in("OLGA", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), WINDOW);
    assert!(set_cookies_named(&refused, "tb_session").is_empty());
    let body = error_body(refused).await;
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(body["retry_after"], WINDOW);
    assert_eq!(app.hashes_run(), hashes, "a refused attempt hashes nothing");

    // The first failure leaves the window a second before the wait is over... then one more try.
    app.clock.advance(WINDOW - 1);
    assert_eq!(retry_after(&attacker.log_in("olga", PASSWORD).await), 1);
    app.clock.advance(1);
    assert_redirects_to(&attacker.log_in("olga", PASSWORD).await, "/dashboard");
}

#[tokio::test]
async fn an_unknown_username_is_locked_the_same_way_as_a_real_one() {
    let app = spawn_app().await;
    app.signed_in_browser("pete").await;
    let attacker = app.browser_at(host(3));
    fail(&attacker, "pete", PER_ACCOUNT).await;
    fail(&attacker, "nobody-here", PER_ACCOUNT).await;

    let real = attacker.log_in("pete", "another guess").await;
    let unknown = attacker.log_in("nobody-here", "another guess").await;
    assert_eq!(real.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(unknown.status(), real.status());
    assert_eq!(retry_after(&unknown), retry_after(&real));
    assert_eq!(
        unknown.text().await.unwrap(),
        real.text().await.unwrap(),
        "the lock tells nothing about whether the account exists"
    );
}

#[tokio::test]
async fn the_owner_signs_in_from_another_address_while_the_guesser_waits() {
    let app = spawn_app().await;
    app.signed_in_browser("rosa").await;
    let attacker = app.browser_at(host(4));
    fail(&attacker, "rosa", PER_ACCOUNT).await;
    assert_eq!(
        attacker.log_in("rosa", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let owner = app.browser_at(host(5));
    assert_redirects_to(&owner.log_in("rosa", PASSWORD).await, "/dashboard");
    // The guesser's other accounts are not locked by this one's failures either.
    app.signed_in_browser("sam").await;
    assert_redirects_to(&attacker.log_in("sam", PASSWORD).await, "/dashboard");
}

#[tokio::test]
async fn one_address_guessing_across_many_accounts_waits_for_all_of_them() {
    let app = spawn_app_with(&[("SIGN_IN_FAILURES_PER_NETWORK", "4")]).await;
    app.signed_in_browser("tess").await;
    let sprayer = app.browser_at(host(6));
    for username in ["amy", "ben", "cat", "dan"] {
        fail(&sprayer, username, 1).await;
    }

    let refused = sprayer.log_in("tess", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), WINDOW);
    assert_redirects_to(
        &app.browser_at(host(7)).log_in("tess", PASSWORD).await,
        "/dashboard",
    );
}

#[tokio::test]
async fn a_successful_sign_in_forgives_the_failures_before_it() {
    for shared in [false, true] {
        let redis = shared.then(crate::redis_server::RedisServer::start);
        let url = redis.as_ref().map(|redis| redis.url());
        let mut settings = vec![("SIGN_IN_FAILURES_PER_NETWORK", "13")];
        settings.extend(url.as_deref().map(|url| ("REDIS_URL", url)));
        let app = spawn_app_with(&settings).await;
        app.signed_in_browser("uma").await;
        let forgetful = app.browser_at(host(8));
        // Three rounds of four failures then the right password: never five failures in a row
        // for the account, and 12 failures plus 3 successes for the network.
        for _ in 0..3 {
            fail(&forgetful, "uma", PER_ACCOUNT - 1).await;
            assert_redirects_to(&forgetful.log_in("uma", PASSWORD).await, "/dashboard");
        }
        // Had the successes counted against the network's 13, the rounds would have been cut
        // off.
        fail(&forgetful, "uma", 1).await;
        assert_eq!(
            forgetful.log_in("uma", "wrong").await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "counted in Redis: {shared}"
        );
    }
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_exactly_five_verdicts() {
    for shared in [false, true] {
        let redis = shared.then(crate::redis_server::RedisServer::start);
        let url = redis.as_ref().map(|redis| redis.url());
        let settings: Vec<_> = url
            .as_deref()
            .map(|url| ("REDIS_URL", url))
            .into_iter()
            .collect();
        let app = spawn_app_with(&settings).await;
        app.signed_in_browser("vic").await;
        let attacker = app.browser_at(host(9));
        let hashes = app.hashes_run();

        let guesses = (0..20).map(|n| {
            let attacker = &attacker;
            async move { attacker.log_in("vic", &format!("guess {n}")).await.status() }
        });
        let statuses = futures_util::future::join_all(guesses).await;

        let count = |status| statuses.iter().filter(|s| **s == status).count();
        assert_eq!(
            count(StatusCode::UNAUTHORIZED),
            PER_ACCOUNT,
            "{shared}: {statuses:?}"
        );
        assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 20 - PER_ACCOUNT);
        assert_eq!(app.hashes_run(), hashes + PER_ACCOUNT as u64);
    }
}

#[tokio::test]
async fn the_json_api_answers_429_with_retry_after() {
    let app = spawn_app().await;
    api_user(&app, "wes").await;
    let token = |password: &'static str| {
        api()
            .post(format!("{}/api/token", app.base))
            .json(&json!({"username": "wes", "password": password}))
            .send()
    };
    for _ in 0..PER_ACCOUNT {
        assert_eq!(
            token("wrong password").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = token(PASSWORD).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), WINDOW);
    assert_eq!(error_body(refused).await["error"], "too_many_attempts");
}

#[tokio::test]
async fn without_javascript_the_login_page_says_how_long_to_wait() {
    let app = spawn_app().await;
    let browser = app.browser();
    fail(&browser, "xena", PER_ACCOUNT).await;
    app.clock.advance(5 * 60);

    let response = browser
        .post_form_without_javascript(
            "/fn/login",
            "/login",
            &[("username", "xena"), ("password", "one more guess")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.client.get(&location).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Too many failed sign-in attempts. Try again in 10 minutes."),
        "{html}"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_and_listed_by_its_own_address() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.signed_in_browser("yara").await;
    // The guesser forges an address of its own on the left; the proxy appends the real one.
    let attacker = app.browser_behind_proxy("10.9.9.9, 203.0.113.66");
    fail(&attacker, "yara", PER_ACCOUNT).await;
    assert_eq!(
        attacker.log_in("yara", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Another client of the same proxy is not the guesser.
    let owner = app.browser_behind_proxy("203.0.113.77");
    assert_redirects_to(&owner.log_in("yara", PASSWORD).await, "/dashboard");
    let this_device = owner
        .devices()
        .await
        .into_iter()
        .find(|device| device.is_current)
        .unwrap();
    assert_eq!(this_device.ip, "203.0.113.77");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    let app = spawn_app().await;
    app.signed_in_browser("zoe").await;
    // A new made-up X-Forwarded-For for every guess changes nothing: the TCP peer is counted.
    for n in 0..PER_ACCOUNT {
        let guesser = app.browser_behind_proxy(&format!("198.51.100.{n}"));
        fail(&guesser, "zoe", 1).await;
    }
    let last = app.browser_behind_proxy("198.51.100.200");
    assert_eq!(
        last.log_in("zoe", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let owner = app.browser_at(host(10));
    assert_redirects_to(&owner.log_in("zoe", PASSWORD).await, "/dashboard");
    let listed: Vec<String> = owner.devices().await.into_iter().map(|d| d.ip).collect();
    assert!(
        listed.iter().all(|ip| ip.starts_with("127.0.0.")),
        "{listed:?}"
    );
}

#[tokio::test]
async fn sign_ups_are_limited_per_network_before_anything_is_hashed() {
    let app = spawn_app_with(&[("SIGN_UPS_PER_NETWORK", "3")]).await;
    let flooder = app.browser_at(host(7));
    for n in 0..3 {
        let response = flooder.sign_up(&format!("flood{n}"), PASSWORD).await;
        assert_redirects_to(&response, "/dashboard");
    }
    let hashes = app.hashes_run();

    let refused = flooder.sign_up("flood3", PASSWORD).await;
    let by_api = api()
        .post(format!("{}/api/users", app.base))
        .json(&json!({"username": "flood4", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), 3_600);
    assert_eq!(error_body(refused).await["error"], "too_many_sign_ups");
    // The API client here is 127.0.0.1, another network: it is not held back.
    assert_eq!(by_api.status(), StatusCode::CREATED);
    assert_eq!(
        app.hashes_run(),
        hashes + 1,
        "nothing hashed for the refused one"
    );
    assert_eq!(app.user_count().await, 4);
    // Sign-ins from that network are not affected: the owner of flood0 still gets in.
    assert_redirects_to(&flooder.log_in("flood0", PASSWORD).await, "/dashboard");
    // An hour later the network may create accounts again.
    app.clock.advance(3_600);
    assert_redirects_to(&flooder.sign_up("flood5", PASSWORD).await, "/dashboard");
}

/// A sign-in by the JSON API (no Origin to match: a second instance shares the first's
/// `PUBLIC_URL`).
async fn api_sign_in(app: &TestApp, username: &str, password: &str) -> StatusCode {
    api()
        .post(format!("{}/api/token", app.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_guesser_spread_over_two_instances_gets_the_attempts_of_one() {
    let redis = crate::redis_server::RedisServer::start();
    let first = spawn_app_with(&[("REDIS_URL", &redis.url())]).await;
    let second = first.another_instance().await;
    api_user(&first, "ivy").await;

    for (n, instance) in [&first, &first, &first, &second, &second]
        .into_iter()
        .enumerate()
    {
        let status = api_sign_in(instance, "ivy", &format!("wrong guess {n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }

    for instance in [&first, &second] {
        assert_eq!(
            api_sign_in(instance, "ivy", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "five failures across both instances: each waits"
        );
    }
}

#[tokio::test]
async fn while_redis_is_away_each_instance_counts_for_itself_and_nobody_gets_a_5xx() {
    let mut redis = crate::redis_server::RedisServer::start();
    let app = spawn_app_with(&[("REDIS_URL", &redis.url())]).await;
    api_user(&app, "jay").await;
    redis.stop();

    for n in 0..PER_ACCOUNT {
        let status = api_sign_in(&app, "jay", &format!("wrong guess {n}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {n}");
    }
    assert_eq!(
        api_sign_in(&app, "jay", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
