//! Device policies: one device, or at most N that refuse or end the least recently active; the
//! ended device told why in either mode; parallel sign-ins never beyond the limit.

use reqwest::StatusCode;
use sqlx::Connection as _;
use ticketbooth::model::{ActivityKind, ActivityPage, Mode, RevocationReason};

use crate::helpers::*;

impl Browser {
    async fn set_policy(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form("/fn/set_device_policy", fields).await
    }

    async fn live_devices(&self) -> usize {
        self.devices()
            .await
            .iter()
            .filter(|device| device.revoked.is_none())
            .count()
    }
}

async fn at_most(browser: &Browser, limit: &str, when_full: &str) {
    let response = browser
        .set_policy(&[
            ("policy", "at_most"),
            ("limit", limit),
            ("when_full", when_full),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_device_signs_the_pc_out_when_the_phone_signs_in_and_says_why() {
    let app = spawn_app().await;
    let pc = app.signed_in_browser("ada").await;
    assert_eq!(
        pc.set_policy(&[("policy", "one")]).await.status(),
        StatusCode::OK
    );

    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("ada", JWT).await, "/dashboard");

    // The cookie session: its next page load goes to the login page, which is told why.
    let next = pc.get("/dashboard").await;
    assert_redirects_to(&next, "/login?next=/dashboard&signed_out=device_policy");
    assert_eq!(pc.viewer().await, None);
    let login = pc
        .get("/login?next=/dashboard&signed_out=device_policy")
        .await;
    let page = login.text().await.unwrap();
    assert!(
        page.contains("another device signed in"),
        "the login page says why"
    );

    // The PC signs in again: now the phone's JWT family ends, and its refresh says why.
    assert_redirects_to(&pc.log_in("ada", PASSWORD).await, "/dashboard");
    let refused = phone.refresh_as_script().await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body = error_body(refused).await;
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("another device signed in"),
        "{body}"
    );
    let devices = pc.devices().await;
    let phone_device = devices
        .iter()
        .find(|device| device.mode == Mode::Jwt)
        .unwrap();
    let revoked = phone_device
        .revoked
        .as_ref()
        .expect("listed with its access-token tail");
    assert_eq!(revoked.reason, RevocationReason::DevicePolicy);
    assert_eq!(pc.live_devices().await, 1);

    let log: ActivityPage = pc.get("/fn/activity").await.json().await.unwrap();
    let ended: Vec<_> = log
        .entries
        .iter()
        .filter(|entry| entry.kind == ActivityKind::EndedByPolicy)
        .collect();
    assert_eq!(ended.len(), 2, "{log:#?}");
    assert_eq!(ended[0].mode, Some(Mode::Jwt));
    assert_eq!(ended[1].mode, Some(Mode::Session));
}

#[tokio::test]
async fn at_most_two_refusing_names_the_limit_and_changes_nothing() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("bob").await;
    at_most(&laptop, "2", "refuse").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in("bob", PASSWORD).await, "/dashboard");

    let third = app.browser();
    let refused = third.log_in("bob", PASSWORD).await;

    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body = error_body(refused).await;
    assert_eq!(body["error"], "device_limit");
    assert_eq!(body["limit"], 2);
    assert_eq!(third.viewer().await, None);
    assert!(laptop.viewer().await.is_some() && phone.viewer().await.is_some());
    assert_eq!(laptop.live_devices().await, 2);
    // Signing in again on a device already counted replaces it: no refusal.
    assert_redirects_to(&phone.log_in("bob", PASSWORD).await, "/dashboard");
    assert_eq!(laptop.live_devices().await, 2);
    // Scripts count too.
    let token = api()
        .post(format!("{}/api/token", app.base))
        .json(&serde_json::json!({"username": "bob", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn at_most_two_ending_signs_out_the_least_recently_active_device() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("cyd").await;
    at_most(&laptop, "2", "end_least_recent").await;
    app.clock.advance(120);
    let phone = app.browser();
    assert_redirects_to(&phone.log_in("cyd", PASSWORD).await, "/dashboard");
    app.clock.advance(120);
    // The laptop is used again: the phone is now the least recently active.
    assert!(laptop.viewer().await.is_some());
    app.clock.advance(120);

    let tablet = app.browser();
    assert_redirects_to(&tablet.log_in("cyd", PASSWORD).await, "/dashboard");

    assert_eq!(phone.viewer().await, None);
    assert!(laptop.viewer().await.is_some() && tablet.viewer().await.is_some());
    assert_eq!(laptop.live_devices().await, 2);
}

#[tokio::test]
async fn parallel_sign_ins_never_leave_more_live_devices_than_the_limit() {
    for when_full in ["refuse", "end_least_recent"] {
        let app = spawn_app().await;
        let laptop = app.signed_in_browser("dee").await;
        at_most(&laptop, "3", when_full).await;
        // Five at once: the most the guessing throttle lets one account try in parallel.
        let browsers: Vec<Browser> = (0..5).map(|_| app.browser()).collect();

        let answers =
            futures_util::future::join_all(browsers.iter().map(|b| b.log_in("dee", PASSWORD)))
                .await;

        let signed_in = answers
            .iter()
            .filter(|answer| answer.status() == StatusCode::OK)
            .count();
        let refused = answers
            .iter()
            .filter(|answer| answer.status() == StatusCode::CONFLICT)
            .count();
        let mut live = 0;
        for browser in browsers.iter().chain([&laptop]) {
            if browser.viewer().await.is_some() {
                live += 1;
            }
        }
        if when_full == "refuse" {
            assert_eq!((signed_in, refused), (2, 3), "{when_full}");
            assert_eq!(live, 3, "{when_full}");
        } else {
            assert_eq!((signed_in, refused), (5, 0), "{when_full}");
            assert_eq!(live, 3, "{when_full}");
        }
    }
}

/// What keeps two servers of one PostgreSQL database from both finding the last free place: a
/// sign-in waits for the account's lock in the database, wherever it was taken.
#[tokio::test]
async fn a_sign_in_waits_for_the_accounts_lock_held_on_another_server() {
    if !on_postgres() {
        return;
    }
    let a = spawn_app().await;
    let b = a.try_instance_on_the_same_database(&[]).await.unwrap();
    a.signed_in_browser("dee").await;
    let dee = a
        .server
        .state
        .db
        .user_by_username("dee")
        .await
        .unwrap()
        .unwrap();
    let mut watcher = sqlx::PgConnection::connect(a.postgres_url().unwrap())
        .await
        .unwrap();
    let waiting_for_the_lock = async |watcher: &mut sqlx::PgConnection| -> i64 {
        sqlx::query_scalar(
            "select count(*) from pg_locks where locktype = 'advisory' and not granted \
             and objid = $1",
        )
        .bind(dee.id)
        .fetch_one(watcher)
        .await
        .unwrap()
    };

    let held = a.server.state.db.hold_account(dee.id).await.unwrap();
    let phone = b.browser();
    let signing_in = tokio::spawn(async move { phone.log_in("dee", PASSWORD).await.status() });
    // The sign-in reaches the lock (after its password check) and waits there.
    while waiting_for_the_lock(&mut watcher).await == 0 {
        assert!(
            !signing_in.is_finished(),
            "the sign-in did not wait for the lock"
        );
        tokio::task::yield_now().await;
    }
    assert!(!signing_in.is_finished());
    drop(held);

    assert_eq!(signing_in.await.unwrap(), StatusCode::OK);
    assert_eq!(waiting_for_the_lock(&mut watcher).await, 0);
}

/// Two servers of one PostgreSQL database: each counts the account's devices in the database,
/// so without a lock there both could find the last free place at once. (On SQLite each
/// server's turn is its own; a cluster runs on PostgreSQL.)
#[tokio::test]
async fn parallel_sign_ins_on_two_servers_of_one_database_never_pass_the_limit() {
    if !on_postgres() {
        return;
    }
    for when_full in ["refuse", "end_least_recent"] {
        let a = spawn_app().await;
        let b = a.try_instance_on_the_same_database(&[]).await.unwrap();
        let laptop = a.signed_in_browser("dee").await;
        at_most(&laptop, "3", when_full).await;
        let browsers: Vec<Browser> = (0..8)
            .map(|n| if n % 2 == 0 { a.browser() } else { b.browser() })
            .collect();

        let answers =
            futures_util::future::join_all(browsers.iter().map(|b| b.log_in("dee", PASSWORD)))
                .await;

        let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
        let signed_in = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        let mut live = 0;
        for browser in browsers.iter().chain([&laptop]) {
            if browser.viewer().await.is_some() {
                live += 1;
            }
        }
        let expected = if when_full == "refuse" {
            (2, 6)
        } else {
            (8, 0)
        };
        assert_eq!((signed_in, refused), expected, "{when_full}: {statuses:?}");
        assert_eq!(live, 3, "{when_full}");
    }
}

#[tokio::test]
async fn a_wrong_policy_is_refused_field_by_field_and_changes_nothing() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("eve").await;
    at_most(&laptop, "4", "refuse").await;

    for (fields, field) in [
        (
            vec![
                ("policy", "at_most"),
                ("limit", "1"),
                ("when_full", "refuse"),
            ],
            "limit",
        ),
        (
            vec![
                ("policy", "at_most"),
                ("limit", "eleven"),
                ("when_full", "refuse"),
            ],
            "limit",
        ),
        (
            vec![
                ("policy", "at_most"),
                ("limit", "3"),
                ("when_full", "sometimes"),
            ],
            "when_full",
        ),
        (vec![("policy", "everything")], "policy"),
    ] {
        let response = laptop.set_policy(&fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        assert!(
            error_body(response).await.to_string().contains(field),
            "{fields:?}"
        );
    }
    let account: serde_json::Value = laptop.get("/fn/account").await.json().await.unwrap();
    assert_eq!(account["device_policy"]["limit"], 4);
    assert_eq!(account["device_policy"]["when_full"], "refuse");
}
