//! The devices page: listing sessions and killing them.

use reqwest::StatusCode;
use ticketbooth::model::{Evidence, Mode};

use crate::helpers::*;

#[tokio::test]
async fn devices_are_listed_most_recently_active_first_with_this_one_marked() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("ada").await;
    app.clock.advance(120);
    let phone = app.browser();
    assert_redirects_to(&phone.log_in("ada", PASSWORD).await, "/dashboard");
    app.clock.advance(30);

    // The laptop's own request is activity: it is the most recent.
    let devices = laptop.devices().await;

    assert_eq!(devices.len(), 2);
    assert!(
        devices[0].is_current && !devices[1].is_current,
        "{devices:#?}"
    );
    assert!(devices[0].last_active.unix > devices[1].last_active.unix);
    for device in &devices {
        assert_eq!(device.mode, Mode::Session);
        assert_eq!(device.device, "Chrome 156 on Linux");
        assert_eq!(device.ip, "127.0.0.1");
        assert!(device.expires.unix > device.last_active.unix);
        assert_ne!(Some(&device.id), laptop.session_cookie().as_ref());
        assert_ne!(Some(&device.id), phone.session_cookie().as_ref());
    }

    // Two minutes later the phone is used; the laptop, seen from the phone, is now second.
    app.clock.advance(120);
    phone.viewer().await;
    let seen_from_phone = phone.devices().await;
    assert!(seen_from_phone[0].is_current, "{seen_from_phone:#?}");
    assert_eq!(seen_from_phone[1].id, devices[0].id);
    assert!(seen_from_phone[0].last_active.unix > seen_from_phone[1].last_active.unix);
}

#[tokio::test]
async fn a_killed_session_is_logged_out_on_its_next_request() {
    let app = spawn_app().await;
    let a = app.signed_in_browser("bea").await;
    let b = app.browser();
    assert_redirects_to(&b.log_in("bea", PASSWORD).await, "/dashboard");
    assert!(b.viewer().await.is_some());
    let b_device = a
        .devices()
        .await
        .into_iter()
        .find(|device| !device.is_current)
        .unwrap();

    let response = a.kill(&b_device.id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let next = b.get("/dashboard").await;
    // The login page will say why.
    assert_redirects_to(&next, "/login?next=/dashboard&signed_out=killed");
    assert!(
        session_set_cookies(&next)
            .iter()
            .any(|c| c.contains("Max-Age=0")),
        "the dead cookie is removed"
    );
    assert_eq!(b.viewer().await, None);
    assert_eq!(a.devices().await.len(), 1);
    // Without its session cookie now, the browser still hears why for a while: a page load
    // fires several requests, and only the first carried the dead cookie.
    assert_redirects_to(
        &b.get("/devices").await,
        "/login?next=/devices&signed_out=killed",
    );
    // Signing in again clears the note.
    assert_redirects_to(&b.log_in("bea", PASSWORD).await, "/dashboard");
    assert_eq!(b.log_out().await.status(), StatusCode::OK);
    assert_redirects_to(&b.get("/devices").await, "/login?next=/devices");
}

#[tokio::test]
async fn signing_out_all_other_devices_keeps_this_one() {
    let app = spawn_app().await;
    let keeper = app.signed_in_browser("cyd").await;
    let others = [app.browser(), app.browser()];
    for other in &others {
        assert_redirects_to(&other.log_in("cyd", PASSWORD).await, "/dashboard");
    }
    assert_eq!(keeper.devices().await.len(), 3);

    let response = keeper.post_form("/fn/kill_other_devices", &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<u64>().await.unwrap(), 2);
    assert!(keeper.viewer().await.is_some());
    for other in &others {
        assert_eq!(other.viewer().await, None);
    }
    let remaining = keeper.devices().await;
    assert_eq!(remaining.len(), 1);
    assert!(remaining[0].is_current);
}

#[tokio::test]
async fn killing_another_users_session_is_not_found_and_deletes_nothing() {
    let app = spawn_app().await;
    let mallory = app.signed_in_browser("mallory").await;
    let victim = app.signed_in_browser("victim").await;
    let victim_device = victim.devices().await.remove(0);

    let response = mallory.kill(&victim_device.id).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_body(response).await["error"], "not_found");
    assert!(victim.viewer().await.is_some());
    assert_eq!(victim.devices().await.len(), 1);
    // An id that exists nowhere looks exactly the same.
    let made_up = mallory.kill("AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(made_up.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn killing_this_device_signs_it_out() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("dot").await;
    let this = browser.devices().await.remove(0);
    assert!(this.is_current);

    let response = browser.kill(&this.id).await;

    assert_redirects_to(&response, "/login");
    assert_eq!(browser.viewer().await, None);
}

#[tokio::test]
async fn devices_and_kills_need_a_signed_in_user() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    assert_eq!(
        anonymous.get("/fn/devices").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous.kill("anything").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous
            .post_form("/fn/kill_other_devices", &[])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_kill_without_an_id_is_a_bad_request() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("eve").await;
    let response = browser.post_form("/fn/kill_device", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(browser.devices().await.len(), 1);
}

#[tokio::test]
async fn the_dashboard_explains_the_session_that_recognised_the_request() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("flo").await;

    let report = browser.dashboard().await;

    assert_eq!(report.viewer.username, "flo");
    let Evidence::Session(evidence) = report.evidence else {
        panic!("a session report, got {:?}", report.evidence);
    };
    assert_eq!(evidence.cookie_name, "tb_session");
    // `tb_session=` and a 22-character ID.
    assert_eq!(evidence.cookie_bytes, "tb_session=".len() + 22);
    assert_eq!(evidence.fingerprint.len(), 8);
    assert!(report.device.is_current);
    assert_eq!(report.device.id, browser.devices().await[0].id);
    let cookie = browser.session_cookie().unwrap();
    assert!(!cookie.contains(&evidence.fingerprint));
}
