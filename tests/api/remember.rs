//! "Remember me": without it a browser-session cookie and short lifetimes, with it the long ones;
//! idle and absolute timeouts enforced by the server from today's settings, in both modes; the
//! strict preset.

use reqwest::StatusCode;
use ticketbooth::model::{Lifetime, RememberTerms};

use crate::helpers::*;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Signs `browser` in to `username` (an existing account) with `mode`, without ticking "Remember
/// me" as a browser does: the box is simply not sent.
async fn log_in_unremembered(browser: &Browser, username: &str, mode: &str) -> reqwest::Response {
    browser
        .post_form(
            "/fn/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("mode", mode),
            ],
        )
        .await
}

/// An account, made from a browser that is then thrown away.
async fn account(app: &TestApp, username: &str) {
    let maker = app.signed_in_browser(username).await;
    assert_eq!(maker.log_out().await.status(), StatusCode::OK);
}

fn has_lifetime(set_cookie: &str) -> bool {
    let lower = set_cookie.to_ascii_lowercase();
    lower.contains("max-age=") || lower.contains("expires=")
}

#[tokio::test]
async fn without_remember_me_a_session_cookie_is_forgotten_with_the_browser_and_ends_after_12_hours_unused()
 {
    let app = spawn_app().await;
    account(&app, "ada").await;
    let browser = app.browser();
    let response = log_in_unremembered(&browser, "ada", "session").await;
    assert_redirects_to(&response, "/dashboard");
    let cookies = session_set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(!has_lifetime(&cookies[0]), "no Max-Age: {}", cookies[0]);

    app.clock.advance(12 * HOUR - 1);
    let renewed = browser.get("/fn/viewer").await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewal = session_set_cookies(&renewed);
    assert_eq!(renewal.len(), 1, "used just in time, and renewed");
    assert!(
        !has_lifetime(&renewal[0]),
        "still a browser-session cookie: {}",
        renewal[0]
    );
    // 12 hours unused again, before the day after sign-in is up.
    app.clock.advance(12 * HOUR);

    assert_eq!(browser.viewer().await, None, "12 hours unused end it");
    let other = app.browser();
    assert_redirects_to(&other.log_in("ada", PASSWORD).await, "/dashboard");
    assert_eq!(
        other.devices().await.len(),
        1,
        "the ended session is not listed"
    );
}

#[tokio::test]
async fn without_remember_me_a_busy_session_ends_a_day_after_sign_in() {
    let app = spawn_app().await;
    account(&app, "bea").await;
    let browser = app.browser();
    assert_redirects_to(
        &log_in_unremembered(&browser, "bea", "session").await,
        "/dashboard",
    );
    for _ in 0..3 {
        app.clock.advance(7 * HOUR);
        assert!(browser.viewer().await.is_some());
    }
    app.clock.advance(3 * HOUR - 1);
    assert!(
        browser.viewer().await.is_some(),
        "one second before the day is up"
    );
    app.clock.advance(1);

    assert_eq!(
        browser.viewer().await,
        None,
        "a day after sign-in, however busy"
    );
}

#[tokio::test]
async fn with_remember_me_a_session_cookie_persists_and_outlives_a_day_unused() {
    let app = spawn_app().await;
    account(&app, "cyd").await;
    let browser = app.browser();
    let response = browser.log_in("cyd", PASSWORD).await;
    let cookies = session_set_cookies(&response);
    assert!(
        cookies[0].contains(&format!("Max-Age={}", 14 * DAY)),
        "{cookies:?}"
    );

    app.clock.advance(13 * DAY);
    assert!(
        browser.viewer().await.is_some(),
        "13 days unused is within 14"
    );
    let device = &browser.devices().await[0];
    assert!(device.remembered);
    assert_eq!(
        device.lifetime,
        Lifetime {
            idle: 14 * DAY,
            absolute: 30 * DAY
        }
    );
    assert_eq!(device.ends_at_latest.unix, device.created.unix + 30 * DAY);
}

#[tokio::test]
async fn without_remember_me_a_jwt_device_gets_browser_session_cookies_and_its_family_ends_after_12_hours_unused()
 {
    let app = spawn_app().await;
    account(&app, "dee").await;
    let browser = app.browser();
    let response = log_in_unremembered(&browser, "dee", JWT).await;
    assert_redirects_to(&response, "/dashboard");
    for name in ["tb_access", "tb_refresh"] {
        let cookies = set_cookies_named(&response, name);
        assert_eq!(cookies.len(), 1, "{name}");
        assert!(!has_lifetime(&cookies[0]), "{}", cookies[0]);
    }
    let device = &browser.devices().await[0];
    assert!(!device.remembered);
    assert_eq!(device.expires.unix, device.created.unix + 12 * HOUR);

    app.clock.advance(12 * HOUR - 1);
    let refreshed = browser.refresh_as_script().await;
    assert_eq!(
        refreshed.status(),
        StatusCode::NO_CONTENT,
        "refreshed in time"
    );
    for name in ["tb_access", "tb_refresh"] {
        assert!(!has_lifetime(&set_cookies_named(&refreshed, name)[0]));
    }
    app.clock.advance(12 * HOUR);

    assert_eq!(
        browser.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED,
        "12 hours unused ends the family"
    );
}

#[tokio::test]
async fn without_remember_me_a_busy_jwt_device_ends_a_day_after_sign_in() {
    let app = spawn_app().await;
    account(&app, "eve").await;
    let browser = app.browser();
    assert_redirects_to(
        &log_in_unremembered(&browser, "eve", JWT).await,
        "/dashboard",
    );
    for _ in 0..3 {
        app.clock.advance(7 * HOUR);
        assert_eq!(
            browser.refresh_as_script().await.status(),
            StatusCode::NO_CONTENT
        );
    }
    app.clock.advance(3 * HOUR);

    let refused = browser.refresh_as_script().await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body = error_body(refused).await;
    assert!(
        body["reason"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn with_remember_me_a_jwt_device_outlives_a_day_unused() {
    let app = spawn_app().await;
    account(&app, "fin").await;
    let browser = app.browser();
    let response = browser.log_in_with("fin", JWT).await;
    assert!(
        set_cookies_named(&response, "tb_refresh")[0].contains(&format!("Max-Age={}", 14 * DAY))
    );

    app.clock.advance(13 * DAY);

    assert_eq!(
        browser.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(browser.devices().await[0].remembered);
}

#[tokio::test]
async fn a_shortened_timeout_ends_devices_signed_in_before_it() {
    let app = spawn_app().await;
    let session = app.signed_in_browser("gil").await;
    let jwt = app.browser();
    account(&app, "hal").await;
    assert_redirects_to(&jwt.log_in_with("hal", JWT).await, "/dashboard");

    // Both were given 14 days; the server now allows 1 hour unused.
    let app = app
        .restart_with(&[("SESSION_IDLE_TIMEOUT", "1h"), ("REFRESH_TOKEN_TTL", "1h")])
        .await;
    app.clock.advance(HOUR);

    assert_eq!(session.viewer().await, None, "today's idle timeout decides");
    assert_eq!(
        jwt.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_remember_box_keeps_its_choice_through_a_mode_switch() {
    let app = spawn_app().await;
    account(&app, "ida").await;
    let browser = app.browser();
    log_in_unremembered(&browser, "ida", "session").await;

    let switched = browser.switch_to(JWT).await;
    assert_eq!(switched.status(), StatusCode::OK);
    assert!(!has_lifetime(
        &set_cookies_named(&switched, "tb_refresh")[0]
    ));
    let devices = browser.devices().await;
    assert_eq!(devices.len(), 1);
    assert!(!devices[0].remembered, "still not remembered");
}

#[tokio::test]
async fn a_remember_value_that_is_neither_on_nor_off_is_refused_before_anything_happens() {
    let app = spawn_app().await;
    account(&app, "joe").await;
    let hashes = app.hashes_run();
    let browser = app.browser();
    let response = browser
        .post_form(
            "/fn/login",
            &[
                ("username", "joe"),
                ("password", PASSWORD),
                ("remember", "forever"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await;
    assert!(body.to_string().contains("remember"), "{body}");
    assert_eq!(app.hashes_run(), hashes, "no password was checked");
    assert_eq!(browser.viewer().await, None);
    for value in ["on", "true", "off", "false", ""] {
        let browser = app.browser();
        let response = browser
            .post_form(
                "/fn/login",
                &[
                    ("username", "joe"),
                    ("password", PASSWORD),
                    ("remember", value),
                ],
            )
            .await;
        assert_redirects_to(&response, "/dashboard");
        let remembered = matches!(value, "on" | "true");
        let devices = browser.devices().await;
        let this = devices.iter().find(|device| device.is_current).unwrap();
        assert_eq!(this.remembered, remembered, "{value:?}");
    }
}

#[tokio::test]
async fn the_strict_policy_signs_out_after_15_minutes_unused_and_12_hours_whatever_the_box() {
    let app = spawn_app_with(&[("SESSION_POLICY", "strict")]).await;
    let terms: RememberTerms = app
        .browser()
        .get("/fn/remember_me_terms")
        .await
        .json()
        .await
        .unwrap();
    assert!(terms.session.strict);
    assert_eq!(
        terms.jwt.remembered,
        Lifetime {
            idle: 15 * 60,
            absolute: 12 * HOUR
        }
    );

    let idle = app.signed_in_browser("kai").await;
    let busy = app.browser();
    account(&app, "lou").await;
    assert_redirects_to(&busy.log_in_with("lou", JWT).await, "/dashboard");
    assert!(idle.devices().await[0].remembered, "the box was ticked");

    let mut elapsed = 0;
    while elapsed + 10 * 60 < 12 * HOUR {
        app.clock.advance(10 * 60);
        elapsed += 10 * 60;
        assert_eq!(
            busy.refresh_as_script().await.status(),
            StatusCode::NO_CONTENT,
            "used every 10 minutes, at {elapsed} s"
        );
        if elapsed == 20 * 60 {
            assert_eq!(
                idle.viewer().await,
                None,
                "remembered, yet 15 minutes unused end it"
            );
        }
    }
    app.clock.advance(12 * HOUR - elapsed);

    assert_eq!(
        busy.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED,
        "12 hours after sign-in, however busy"
    );
}
