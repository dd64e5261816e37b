//! The theft drill: a browser's own spent refresh token replayed as a thief would, the family
//! revoked, the owner's next refresh refused, the log told; and nothing of it aimed elsewhere.

use reqwest::StatusCode;
use ticketbooth::model::{ActivityKind, ActivityPage, RevocationReason, TheftDrillReport};

use crate::helpers::*;

const DRILL: &str = "/auth/refresh/theft_drill";

/// The value of cookie `name` among those `browser` sends to `path`.
fn cookie(browser: &Browser, path: &str, name: &str) -> String {
    browser
        .cookies_for(path)
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

#[tokio::test]
async fn the_drill_revokes_this_browsers_family_and_says_what_the_thief_and_the_owner_got() {
    let app = spawn_app().await;
    let browser = app.browser();
    assert_redirects_to(&browser.sign_up_with("vic", JWT).await, "/dashboard");

    let response = browser.post_form(DRILL, &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let report: TheftDrillReport = response.json().await.unwrap();
    assert!(report.thief_refused.contains("already used"), "{report:#?}");
    assert!(report.owner_refused.contains("signed out"), "{report:#?}");
    assert_eq!(report.grace_seconds, 10);
    let until = report
        .access_valid_until
        .expect("pure: the access token lives on");
    assert!(until.unix > app.clock.now());
    // The browser may still read until then, and cannot renew.
    let devices = browser.devices().await;
    let this = devices.iter().find(|device| device.is_current).unwrap();
    assert_eq!(
        this.revoked.as_ref().map(|revoked| revoked.reason),
        Some(RevocationReason::Reused)
    );
    let log: ActivityPage = browser.get("/fn/activity").await.json().await.unwrap();
    assert_eq!(log.entries[0].kind, ActivityKind::RefreshReuse);
    assert_eq!(log.entries[0].device_id.as_deref(), Some(this.id.as_str()));
    // Its refresh fails, and the failure signs it out.
    assert_eq!(
        browser.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.viewer().await, None);
}

#[tokio::test]
async fn under_session_check_the_drilled_browser_is_refused_at_once() {
    let app = spawn_app_with(&[("JWT_REVOCATION", "session-check")]).await;
    let browser = app.browser();
    assert_redirects_to(&browser.sign_up_with("wes", JWT).await, "/dashboard");

    let report: TheftDrillReport = browser.post_form(DRILL, &[]).await.json().await.unwrap();

    assert_eq!(report.access_valid_until, None);
    assert_eq!(browser.viewer_after_renewal().await, None);
}

#[tokio::test]
async fn a_cookie_session_browser_is_told_to_switch_first_and_nothing_changes() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("xia").await;

    let response = browser.post_form(DRILL, &[]).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_body(response).await.to_string().contains("JWT mode"));
    assert!(browser.viewer().await.is_some());
}

#[tokio::test]
async fn the_drill_cannot_be_aimed_at_another_users_refresh_token() {
    let app = spawn_app().await;
    let attacker = app.browser();
    assert_redirects_to(&attacker.sign_up_with("yan", JWT).await, "/dashboard");
    let victim = app.browser();
    assert_redirects_to(&victim.sign_up_with("zoe", JWT).await, "/dashboard");
    // The attacker's own access token, with the victim's refresh cookie planted beside it.
    let mixed = app.browser();
    let base = attacker.url("/");
    mixed.jar.add_cookie_str(
        &format!("tb_access={}; Path=/", cookie(&attacker, "/", "tb_access")),
        &base.parse().unwrap(),
    );
    mixed.jar.add_cookie_str(
        &format!(
            "tb_refresh={}; Path=/auth/refresh",
            cookie(&victim, "/auth/refresh", "tb_refresh")
        ),
        &attacker.url("/auth/refresh").parse().unwrap(),
    );

    let response = mixed.post_form(DRILL, &[]).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        victim.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        attacker.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_signed_out_device_cannot_run_the_drill() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("abe").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("abe", JWT).await, "/dashboard");
    let phone_device = laptop.other_device().await;
    assert_eq!(laptop.kill(&phone_device.id).await.status(), StatusCode::OK);

    let response = phone.post_form(DRILL, &[]).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
