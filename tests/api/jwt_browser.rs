//! JWT mode in the browser: cookies, the refresh flow, logout, switching modes, and the
//! devices page across both modes.

use reqwest::StatusCode;
use ticketbooth::model::{Killed, Mode, Viewer};

use crate::helpers::*;

#[tokio::test]
async fn a_jwt_login_sets_an_access_cookie_and_a_refresh_cookie_for_the_refresh_path_only() {
    let app = jwt_app(&[]).await;
    app.signed_in_browser("gwen").await;
    let browser = app.browser();

    let response = browser.log_in_with("gwen", JWT).await;

    assert_redirects_to(&response, "/dashboard");
    let access = set_cookies_named(&response, "tb_access");
    let refresh = set_cookies_named(&response, "tb_refresh");
    assert_eq!(
        (access.len(), refresh.len()),
        (1, 1),
        "{access:?} {refresh:?}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(access[0].split("; ").any(|a| a == attribute), "{access:?}");
    }
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/auth/refresh"] {
        assert!(
            refresh[0].split("; ").any(|a| a == attribute),
            "{refresh:?}"
        );
    }
    assert!(
        session_set_cookies(&response).is_empty(),
        "no session in JWT mode"
    );
    assert!(browser.cookies_for("/dashboard").contains("tb_access="));
    assert!(!browser.cookies_for("/dashboard").contains("tb_refresh="));
    assert!(browser.cookies_for("/auth/refresh").contains("tb_refresh="));
    let viewer = browser.viewer().await.unwrap();
    assert_eq!((viewer.username.as_str(), viewer.mode), ("gwen", Mode::Jwt));
}

#[tokio::test]
async fn the_login_form_remembers_the_mode_chosen_last_in_this_browser() {
    let app = jwt_app(&[]).await;
    let browser = app.browser();
    assert_eq!(preferred(&browser).await, Mode::Session);

    browser.sign_up_with("hugo", JWT).await;
    assert_eq!(preferred(&browser).await, Mode::Jwt);
    browser.log_out().await;
    assert_eq!(preferred(&browser).await, Mode::Jwt);

    // Without a choice in the form, the remembered one is used.
    browser.log_in("hugo", PASSWORD).await;
    assert_eq!(browser.viewer().await.unwrap().mode, Mode::Jwt);
}

#[tokio::test]
async fn an_unknown_mode_is_a_bad_request_that_signs_nobody_in() {
    let app = jwt_app(&[]).await;
    app.signed_in_browser("ivan").await;
    let browser = app.browser();
    let response = browser.log_in_with("ivan", "telepathy").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(browser.viewer().await, None);
}

#[tokio::test]
async fn a_page_load_with_an_expired_access_token_goes_through_the_refresh_page() {
    let app = jwt_app(&[]).await;
    let browser = app.browser();
    browser.sign_up_with("jack", JWT).await;
    let old_access = browser.cookies_for("/");
    app.clock.advance(301 + 2);

    let page = load_page(&browser, "/devices?tab=1").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"action="/auth/refresh""#), "{html}");
    assert!(
        html.contains(r#"name="next" value="/devices?tab=1""#),
        "{html}"
    );

    let refreshed = browser.refresh_as_page("/devices?tab=1").await;
    assert_redirects_to(&refreshed, "/devices?tab=1");
    assert_ne!(browser.cookies_for("/"), old_access);
    let page = load_page(&browser, "/devices?tab=1").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Your devices"));
}

#[tokio::test]
async fn a_server_function_with_an_expired_token_gets_a_401_that_a_refresh_cures() {
    let app = jwt_app(&[]).await;
    let browser = app.browser();
    browser.sign_up_with("kate", JWT).await;
    app.clock.advance(303);

    let refused = browser.get("/fn/devices").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("invalid_token") && challenge.contains("expired"),
        "{challenge}"
    );
    let viewer = browser.get("/fn/viewer").await;
    assert_eq!(
        viewer.status(),
        StatusCode::UNAUTHORIZED,
        "expired is not anonymous"
    );

    assert_eq!(
        browser.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(browser.devices().await.len(), 1);
}

#[tokio::test]
async fn a_wrong_password_is_a_401_without_a_challenge() {
    let app = jwt_app(&[]).await;
    app.signed_in_browser("liam").await;
    let response = app.browser().log_in("liam", "wrong password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "no refresh can fix it"
    );
}

#[tokio::test]
async fn a_killed_jwt_browser_works_until_exp_then_lands_on_login() {
    let app = jwt_app(&[]).await;
    let killer = app.signed_in_browser("mia").await;
    let victim = app.browser();
    victim.log_in_with("mia", JWT).await;
    let victim_device = killer
        .devices()
        .await
        .into_iter()
        .find(|device| device.mode == Mode::Jwt)
        .unwrap();

    let killed: Killed = killer.kill(&victim_device.id).await.json().await.unwrap();

    let until = killed
        .access_valid_until
        .expect("a JWT kill says until when");
    assert_eq!(until.unix, victim_device.expires.unix.min(until.unix));
    assert!(
        victim.viewer().await.is_some(),
        "the access token still works"
    );
    app.clock.advance(until.unix - app.clock.now() + 3);
    assert_eq!(
        load_page(&victim, "/dashboard").await.status(),
        StatusCode::OK
    );
    let refresh = victim.refresh_as_page("/dashboard").await;
    assert_redirects_to(&refresh, "/login?next=/dashboard");
    assert!(set_cookies_named(&refresh, "tb_access")[0].contains("Max-Age=0"));
    assert_redirects_to(
        &load_page(&victim, "/dashboard").await,
        "/login?next=/dashboard",
    );
}

#[tokio::test]
async fn logout_in_jwt_mode_revokes_the_family_and_clears_both_cookies() {
    let app = jwt_app(&[]).await;
    let browser = app.browser();
    browser.sign_up_with("noah", JWT).await;
    let refresh_cookie = browser.cookies_for("/auth/refresh");

    let response = browser.log_out().await;

    assert_redirects_to(&response, "/login");
    for name in ["tb_access", "tb_refresh"] {
        let removal = set_cookies_named(&response, name);
        assert_eq!(removal.len(), 1, "{name}");
        assert!(removal[0].contains("Max-Age=0"), "{removal:?}");
    }
    assert!(!browser.cookies_for("/auth/refresh").contains("tb_refresh="));
    assert!(!browser.cookies_for("/").contains("tb_access="));
    // Replaying the refresh cookie after logout gets nothing.
    let replay = reqwest::Client::new()
        .post(browser.url("/auth/refresh"))
        .header("cookie", refresh_cookie)
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn switching_from_session_to_jwt_and_back_keeps_the_user_signed_in() {
    let app = jwt_app(&[]).await;
    let browser = app.signed_in_browser("olga").await;
    let session_cookie = browser.session_cookie().unwrap();

    let to_jwt = browser.switch_to(JWT).await;

    assert_eq!(to_jwt.status(), StatusCode::OK);
    assert_eq!(to_jwt.json::<Viewer>().await.unwrap().mode, Mode::Jwt);
    assert!(
        browser.session_cookie().is_none(),
        "the session cookie is removed"
    );
    assert_eq!(browser.viewer().await.unwrap().mode, Mode::Jwt);
    let replay = get_with_session_cookie(&app, "/fn/viewer", &session_cookie).await;
    assert_eq!(
        replay.json::<Option<Viewer>>().await.unwrap(),
        None,
        "the session ended"
    );
    let devices = browser.devices().await;
    assert_eq!(devices.len(), 1);
    assert_eq!((devices[0].mode, devices[0].is_current), (Mode::Jwt, true));

    let to_session = browser.switch_to("session").await;

    assert_eq!(to_session.status(), StatusCode::OK);
    assert!(browser.session_cookie().is_some());
    assert!(!browser.cookies_for("/").contains("tb_access="));
    assert_eq!(browser.viewer().await.unwrap().mode, Mode::Session);
    let devices = browser.devices().await;
    let live: Vec<_> = devices
        .iter()
        .filter(|device| device.revoked.is_none())
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!((live[0].mode, live[0].is_current), (Mode::Session, true));
    // The JWT family is revoked; its last access token is shown until it expires.
    assert!(
        devices
            .iter()
            .any(|device| device.mode == Mode::Jwt && device.revoked.is_some())
    );
}

#[tokio::test]
async fn switching_needs_a_signed_in_user() {
    let app = jwt_app(&[]).await;
    let response = app.browser().switch_to(JWT).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_devices_page_lists_and_kills_both_kinds() {
    let app = jwt_app(&[]).await;
    let session = app.signed_in_browser("pia").await;
    let jwt = app.browser();
    jwt.log_in_with("pia", JWT).await;
    let script = api_token(&app, "pia").await;

    let devices = jwt.devices().await;
    assert_eq!(devices.len(), 3);
    let modes: Vec<Mode> = devices.iter().map(|device| device.mode).collect();
    assert_eq!(modes.iter().filter(|mode| **mode == Mode::Jwt).count(), 2);
    assert_eq!(devices.iter().filter(|device| device.is_current).count(), 1);

    // From the JWT browser, the session is killed: dead on its next request.
    let session_device = devices
        .iter()
        .find(|device| device.mode == Mode::Session)
        .unwrap();
    let killed: Killed = jwt.kill(&session_device.id).await.json().await.unwrap();
    assert_eq!(
        (killed.mode, killed.access_valid_until),
        (Mode::Session, None)
    );
    assert_eq!(session.viewer().await, None);

    // "All others" from the JWT browser ends the script's family too, and keeps this one.
    let ended: u64 = jwt
        .post_form("/fn/kill_other_devices", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let refused = refresh(&app, &script.refresh_token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(jwt.viewer().await.is_some());
    assert_eq!(
        jwt.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_device_in_both_modes() {
    let app = jwt_app(&[]).await;
    let session = app.signed_in_browser("quin").await;
    let jwt = app.browser();
    jwt.log_in_with("quin", JWT).await;
    let other_jwt = app.browser();
    other_jwt.log_in_with("quin", JWT).await;

    let response = session.post_form("/fn/kill_all_devices", &[]).await;

    assert_redirects_to(&response, "/login");
    assert_eq!(response.json::<u64>().await.unwrap(), 3);
    assert_eq!(session.viewer().await, None);
    for browser in [&jwt, &other_jwt] {
        assert_eq!(
            browser.refresh_as_script().await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn an_authorization_header_decides_alone_over_a_session_cookie() {
    let app = jwt_app(&[]).await;
    let browser = app.signed_in_browser("alma").await;
    let other = api_user(&app, "boris").await;

    // A session cookie of one user and a Bearer token of another: the header decides.
    let response = browser
        .client
        .get(browser.url("/api/me"))
        .header("authorization", format!("Bearer {}", other.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["username"], "boris");

    // A refused header is refused: the session cookie does not step in.
    let forged = browser
        .client
        .get(browser.url("/fn/viewer"))
        .header("authorization", "Bearer not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::OK);
    assert_eq!(forged.json::<Option<Viewer>>().await.unwrap(), None);
    let devices = browser
        .client
        .get(browser.url("/fn/devices"))
        .header("authorization", "Bearer not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(devices.status(), StatusCode::UNAUTHORIZED);
    // Without the header the cookie still works.
    assert_eq!(browser.viewer().await.unwrap().username, "alma");
}
