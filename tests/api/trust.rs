//! Trust: a kill is final, a sign-out ends everything the browser presents, and a browser
//! holds one sign-in at a time.

use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use ticketbooth::model::Mode;

use crate::helpers::*;

/// Past the access token's lifetime (5 minutes) and the leeway.
const PAST_EXPIRY: i64 = 303;

fn live(devices: &[ticketbooth::model::DeviceView]) -> usize {
    devices.iter().filter(|d| d.revoked.is_none()).count()
}

#[tokio::test]
async fn a_killed_jwt_device_cannot_turn_its_leftover_token_into_a_session() {
    let app = spawn_app().await;
    let laptop = app.browser();
    laptop.sign_up_with("kit", JWT).await;
    let phone = app.browser();
    phone.log_in_with("kit", JWT).await;
    let phone_device = phone
        .devices()
        .await
        .into_iter()
        .find(|d| d.is_current)
        .unwrap();
    assert_eq!(laptop.kill(&phone_device.id).await.status(), StatusCode::OK);

    // The leftover access token still reads (the JWT trade-off)...
    assert_eq!(phone.get("/fn/devices").await.status(), StatusCode::OK);
    // ...but it issues nothing and changes nothing.
    let switch = phone.switch_to("session").await;
    assert_eq!(switch.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies_named(&switch, "tb_session").is_empty());
    assert!(phone.session_cookie().is_none());
    let others = phone.post_form("/fn/kill_other_devices", &[]).await;
    assert_eq!(others.status(), StatusCode::UNAUTHORIZED);
    let burst = phone
        .post_form("/fn/generate_load", &[("requests", "1")])
        .await;
    assert_eq!(burst.status(), StatusCode::UNAUTHORIZED);
    // The laptop was not touched.
    assert_eq!(live(&laptop.devices().await), 1);
    assert_eq!(laptop.viewer().await.unwrap().mode, Mode::Jwt);
}

#[tokio::test]
async fn a_killed_script_token_cannot_kill_the_owners_devices() {
    let app = spawn_app().await;
    let owner = api_user(&app, "kim").await;
    let thief = api_token(&app, "kim").await;
    let thief_device = device_of(&thief);
    kill(&app, &owner, &thief_device).await;

    let owner_device = device_of(&owner);
    let attempt = with_bearer(
        &app,
        Method::DELETE,
        &format!("/api/devices/{owner_device}"),
        &thief.access_token,
    )
    .await;
    assert_eq!(attempt.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &owner.access_token).await.status(), StatusCode::OK);
    assert_eq!(
        refresh(&app, &owner.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_with_an_expired_access_token_ends_the_device_and_clears_every_cookie() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_up_with("lea", JWT).await;
    let copy = app.browser_holding_the_cookies_of(&browser);
    app.clock.advance(PAST_EXPIRY);

    let response = browser.log_out().await;

    assert_redirects_to(&response, "/login");
    for name in ["tb_access", "tb_refresh"] {
        let removal = set_cookies_named(&response, name);
        assert!(
            removal.iter().any(|c| c.contains("Max-Age=0")),
            "{name}: {removal:?}"
        );
    }
    // The refresh cookie no longer signs anyone back in.
    assert_eq!(
        copy.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(copy.viewer_after_renewal().await, None);
}

#[tokio::test]
async fn logout_with_a_tampered_access_token_still_revokes_the_refresh_family() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_up_with("max", JWT).await;
    let copy = app.browser_holding_the_cookies_of(&browser);
    browser.jar.add_cookie_str(
        "tb_access=not.a.token; Path=/",
        &browser.url("/").parse().unwrap(),
    );

    assert_redirects_to(&browser.log_out().await, "/login");

    assert_eq!(
        copy.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_api_logout_ends_the_device_of_an_expired_token() {
    let app = spawn_app().await;
    let tokens = api_user(&app, "ned").await;
    app.clock.advance(PAST_EXPIRY);

    let logout = with_bearer(&app, Method::POST, "/api/logout", &tokens.access_token).await;

    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh(&app, &tokens.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_api_logout_refuses_a_token_this_server_did_not_sign() {
    let app = spawn_app().await;
    let tokens = api_user(&app, "nell").await;
    // The server's own header and claims, signed with a key that is not the server's.
    let forged = forge(
        Algorithm::HS256,
        &part(&tokens.access_token, 0),
        &part(&tokens.access_token, 1),
    );

    for token in [forged.as_str(), "not-a-token"] {
        let logout = with_bearer(&app, Method::POST, "/api/logout", token).await;
        assert_eq!(logout.status(), StatusCode::UNAUTHORIZED, "{token}");
        let challenge = logout.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }
    // Nothing was signed out.
    assert_eq!(
        me(&app, &tokens.access_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, &tokens.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn signing_in_with_jwts_ends_the_browsers_session() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("ora").await;
    let old_session = browser.session_cookie().unwrap();

    assert_redirects_to(&browser.log_in_with("ora", JWT).await, "/dashboard");

    let replay = get_with_session_cookie(&app, "/fn/viewer", &old_session).await;
    assert_eq!(
        replay
            .json::<Option<ticketbooth::model::Viewer>>()
            .await
            .unwrap(),
        None
    );
    let devices = browser.devices().await;
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].mode, Mode::Jwt);
    // One sign-in: signing out leaves nothing behind.
    browser.log_out().await;
    assert_eq!(browser.viewer().await, None);
}

#[tokio::test]
async fn signing_in_with_a_session_ends_the_browsers_jwt_family() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_up_with("pat", JWT).await;
    let jwt_copy = app.browser_holding_the_cookies_of(&browser);

    assert_redirects_to(&browser.log_in_with("pat", "session").await, "/dashboard");

    app.clock.advance(PAST_EXPIRY);
    assert_eq!(jwt_copy.viewer_after_renewal().await, None);
    let devices = browser.devices().await;
    assert_eq!(live(&devices), 1);
    assert_eq!(browser.viewer().await.unwrap().mode, Mode::Session);
}

#[tokio::test]
async fn a_second_jwt_sign_in_revokes_the_browsers_previous_family() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_up_with("quin", JWT).await;
    let first = app.browser_holding_the_cookies_of(&browser);

    assert_redirects_to(&browser.log_in_with("quin", JWT).await, "/dashboard");

    assert_eq!(live(&browser.devices().await), 1);
    assert_eq!(
        first.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
}
