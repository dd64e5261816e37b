//! The activity log: an entry for each event, in both modes, none holding a secret; paged,
//! filtered by device, bounded by count and age, and only ever the caller's own.

use reqwest::{Method, StatusCode};
use ticketbooth::model::{ActivityKind, ActivityPage};

use crate::helpers::*;

impl Browser {
    async fn activity(&self, query: &str) -> ActivityPage {
        let response = self.get(&format!("/fn/activity{query}")).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "reading the activity log"
        );
        response.json().await.unwrap()
    }
}

fn kinds(page: &ActivityPage) -> Vec<ActivityKind> {
    page.entries.iter().map(|entry| entry.kind).collect()
}

#[tokio::test]
async fn every_event_is_written_newest_first_and_none_holds_a_secret() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("pia").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("pia", JWT).await, "/dashboard");
    let stranger = app.browser();
    let typo = "pia-typed-this-wrong";
    assert_eq!(
        stranger.log_in(typo, "guess number one").await.status(),
        StatusCode::UNAUTHORIZED
    );
    for guess in ["guess number one", "guess number two"] {
        assert_eq!(
            stranger.log_in("pia", guess).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    app.clock.advance(1);
    let phone_device = laptop.other_device().await;
    assert_eq!(laptop.kill(&phone_device.id).await.status(), StatusCode::OK);
    app.clock.advance(1);
    assert_eq!(laptop.switch_to(JWT).await.status(), StatusCode::OK);
    app.clock.advance(1);
    // A script's refresh token, used twice after the grace window: a thief's copy.
    let script = api_token(&app, "pia").await;
    assert_eq!(
        refresh(&app, &script.refresh_token).await.status(),
        StatusCode::OK
    );
    app.clock.advance(60);
    assert_eq!(
        refresh(&app, &script.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(1);
    let response = laptop
        .post_form(
            "/fn/change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.clock.advance(1);
    let session_cookie = laptop.cookies_for("/");
    let page = laptop.activity("").await;
    assert!(laptop.log_out().await.status().is_success());
    let signed_in_again = app.browser();
    signed_in_again
        .post_form(
            "/fn/login",
            &[("username", "pia"), ("password", "a brand new passphrase")],
        )
        .await;
    let after = signed_in_again.activity("").await;

    assert_eq!(
        kinds(&page),
        [
            ActivityKind::PasswordChanged,
            ActivityKind::RefreshReuse,
            ActivityKind::SignedIn, // the script
            ActivityKind::ModeSwitched,
            ActivityKind::DeviceKilled,
            ActivityKind::SignInFailed,
            ActivityKind::SignedIn, // the phone
            ActivityKind::SignedIn, // the laptop
        ],
        "{page:#?}"
    );
    assert_eq!(
        &kinds(&after)[..3],
        [
            ActivityKind::SignedIn,
            ActivityKind::SignedOut,
            ActivityKind::PasswordChanged
        ]
    );
    let failed = &page.entries[5];
    assert_eq!((failed.count, failed.ip.as_str()), (2, "127.0.0.1"));
    let killed = &page.entries[4];
    assert_eq!(killed.device_id.as_deref(), Some(phone_device.id.as_str()));
    assert_eq!(
        killed.detail.by_device.as_deref(),
        Some("Chrome 156 on Linux")
    );
    assert!(
        killed.detail.access_valid_until.is_some(),
        "a JWT device keeps its token a while"
    );
    assert_eq!(
        page.entries[3].detail.to_mode,
        Some(ticketbooth::model::Mode::Jwt)
    );
    let changed = &page.entries[0];
    assert_eq!(
        changed.detail.ended,
        Some(0),
        "the phone was killed and the script's family revoked for the reuse already"
    );

    // No password, typed username, token or cookie anywhere in the log.
    let everything = serde_json::to_string(&(&page, &after)).unwrap();
    for secret in [
        PASSWORD,
        "a brand new passphrase",
        "guess number",
        typo,
        script.access_token.as_str(),
        script.refresh_token.as_str(),
    ] {
        assert!(!everything.contains(secret), "the log holds {secret:?}");
    }
    for cookie in session_cookie.split("; ") {
        let value = cookie.split_once('=').map_or("", |(_, value)| value);
        assert!(
            value.len() < 8 || !everything.contains(value),
            "the log holds a cookie"
        );
    }
}

#[tokio::test]
async fn a_wrong_username_writes_nothing_and_another_user_sees_none_of_it() {
    let app = spawn_app().await;
    let quinn = app.signed_in_browser("quinn").await;
    let rosa = app.signed_in_browser("rosa").await;
    assert_eq!(
        app.browser()
            .log_in("rosa", "wrong password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser()
            .log_in("nobody-here", "wrong password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(kinds(&quinn.activity("").await), [ActivityKind::SignedIn]);
    assert_eq!(
        kinds(&rosa.activity("").await),
        [ActivityKind::SignInFailed, ActivityKind::SignedIn]
    );
    // Rosa's device id filters Quinn's log to nothing.
    let rosa_device = rosa.devices().await.remove(0).id;
    assert!(
        quinn
            .activity(&format!("?device={rosa_device}"))
            .await
            .entries
            .is_empty()
    );
}

#[tokio::test]
async fn the_log_is_paged_and_filtered_by_device() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("sam").await;
    // 110 mode switches after the sign-in: 111 entries.
    for _ in 0..55 {
        assert_eq!(laptop.switch_to(JWT).await.status(), StatusCode::OK);
        assert_eq!(laptop.switch_to("session").await.status(), StatusCode::OK);
    }
    let first = laptop.activity("").await;
    let second = laptop.activity("?page=2").await;
    let third = laptop.activity("?page=3").await;

    assert_eq!((first.entries.len(), first.has_more), (50, true));
    assert_eq!(second.entries.len(), 50);
    assert_eq!((third.entries.len(), third.has_more), (11, false));
    assert!(first.entries.last().unwrap().id > second.entries[0].id);
    let laptop_device = laptop
        .devices()
        .await
        .into_iter()
        .find(|device| device.is_current)
        .unwrap()
        .id;
    let mine = laptop.activity(&format!("?device={laptop_device}")).await;
    assert_eq!(
        kinds(&mine),
        [ActivityKind::ModeSwitched],
        "the switch that made this device"
    );
    assert_eq!(mine.device_id.as_deref(), Some(laptop_device.as_str()));

    for bad in [
        "?page=0",
        "?page=1001",
        "?device=%3Cscript%3E",
        "?device=a%20b",
    ] {
        let response = laptop.get(&format!("/fn/activity{bad}")).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_log_keeps_the_newest_entries_and_none_older_than_its_age() {
    let app = spawn_app_with(&[("ACTIVITY_KEEP_ENTRIES", "3"), ("ACTIVITY_KEEP", "2d")]).await;
    let laptop = app.signed_in_browser("tess").await;
    for _ in 0..4 {
        app.clock.advance(60);
        assert_eq!(laptop.switch_to(JWT).await.status(), StatusCode::OK);
        app.clock.advance(60);
        assert_eq!(laptop.switch_to("session").await.status(), StatusCode::OK);
    }
    let kept = laptop.activity("").await;
    assert_eq!(kept.entries.len(), 3, "{kept:#?}");
    assert!(
        kinds(&kept)
            .iter()
            .all(|kind| *kind == ActivityKind::ModeSwitched)
    );

    app.clock.advance(3 * 86_400);
    ticketbooth::server::sweep_expired(&app.server.state)
        .await
        .unwrap();
    let script = api_token(&app, "tess").await;
    let response = with_bearer(&app, Method::GET, "/api/activity", &script.access_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: ActivityPage = response.json().await.unwrap();
    assert_eq!(
        kinds(&page),
        [ActivityKind::SignedIn],
        "only the script's sign-in is young"
    );
}

#[tokio::test]
async fn the_json_api_serves_the_callers_log_and_refuses_strangers() {
    let app = spawn_app().await;
    let tokens = api_user(&app, "uma").await;

    let response = with_bearer(
        &app,
        Method::GET,
        "/api/activity?page=1",
        &tokens.access_token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: ActivityPage = response.json().await.unwrap();
    assert_eq!(kinds(&page), [ActivityKind::SignedIn]);
    assert_eq!(page.entries[0].mode, Some(ticketbooth::model::Mode::Jwt));

    let anonymous = api()
        .get(format!("{}/api/activity", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bad = with_bearer(
        &app,
        Method::GET,
        "/api/activity?page=x",
        &tokens.access_token,
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let out_of_range = with_bearer(
        &app,
        Method::GET,
        "/api/activity?page=0",
        &tokens.access_token,
    )
    .await;
    assert_eq!(out_of_range.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn wrong_passwords_from_many_addresses_never_push_the_accounts_history_out() {
    let app = spawn_app_with(&[("ACTIVITY_KEEP_ENTRIES", "150")]).await;
    let laptop = app.signed_in_browser("vera").await;
    let user = app
        .server
        .state
        .db
        .user_by_username("vera")
        .await
        .unwrap()
        .unwrap();
    // A guesser rotating addresses: each failure its own row.
    for n in 0..300 {
        let ip = format!("10.0.{}.{}", n / 250, n % 250);
        app.server
            .state
            .db
            .record_failed_sign_in(user.id, &ip, app.clock.now())
            .await
            .unwrap();
    }
    assert_eq!(laptop.switch_to(JWT).await.status(), StatusCode::OK);

    let mut all = Vec::new();
    for page in 1..=4 {
        all.extend(laptop.activity(&format!("?page={page}")).await.entries);
    }
    let failures = all
        .iter()
        .filter(|entry| entry.kind == ActivityKind::SignInFailed)
        .count();
    assert_eq!(failures, 100, "failures are bounded among themselves");
    assert_eq!(
        all.first().map(|entry| entry.kind),
        Some(ActivityKind::ModeSwitched)
    );
    assert_eq!(
        all.last().map(|entry| entry.kind),
        Some(ActivityKind::SignedIn),
        "the sign-in is still there"
    );
}
