//! Changing the password: the current one checked (and throttled like a sign-in), the new one
//! under the sign-up rules, every other device ended in both modes, this browser kept signed in
//! with fresh credentials; and weaker stored hashes upgraded at the next sign-in.

use reqwest::StatusCode;
use ticketbooth::{auth::password::Passwords, model::PasswordChanged};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

impl Browser {
    async fn change_password(&self, current: &str, new: &str) -> reqwest::Response {
        self.post_form(
            "/fn/change_password",
            &[("current_password", current), ("new_password", new)],
        )
        .await
    }
}

/// Replaces the account's hash (`today`) with one of the same password made as an older server
/// would have: argon2id with 8 MiB and 1 pass. Returns it.
async fn plant_weak_hash(app: &TestApp, username: &str, today: &str) -> String {
    use argon2::{
        Algorithm, Argon2, Params, PasswordHasher, Version,
        password_hash::{SaltString, rand_core::OsRng},
    };
    let params = Params::new(8 * 1024, 1, 1, None).unwrap();
    let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    let db = &app.server.state.db;
    let user = db.user_by_username(username).await.unwrap().unwrap();
    assert!(
        db.replace_password_hash(user.id, today, &weak, None)
            .await
            .unwrap()
    );
    weak
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    app.server
        .state
        .db
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

#[tokio::test]
async fn a_password_change_ends_every_other_device_in_both_modes_and_keeps_this_one() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("ines").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in("ines", PASSWORD).await, "/dashboard");
    let tablet = app.browser();
    assert_redirects_to(&tablet.log_in_with("ines", JWT).await, "/dashboard");
    let script = api_token(&app, "ines").await;
    let laptop_cookie_before = laptop.session_cookie();

    let response = laptop.change_password(PASSWORD, NEW_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let changed: PasswordChanged = response.json().await.unwrap();
    assert_eq!(changed.ended, 3, "the phone, the tablet and the script");
    let until = changed
        .access_valid_until
        .expect("JWT devices keep their access token a while");
    assert!(until.unix > app.clock.now());
    // This browser: still signed in, with a new session ID.
    assert_eq!(
        laptop.viewer().await.map(|viewer| viewer.username),
        Some("ines".into())
    );
    assert_ne!(laptop.session_cookie(), laptop_cookie_before);
    // The session device: out at its next request.
    assert_eq!(phone.viewer().await, None);
    // The JWT devices: their refresh fails, and says why on the devices page.
    assert_eq!(
        tablet.refresh_as_script().await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = refresh(&app, &script.refresh_token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(refused).await["error"], "refresh_refused");
    let devices = laptop.devices().await;
    assert_eq!(
        devices.len(),
        3,
        "this browser and the two revoked JWT devices: {devices:#?}"
    );
    assert!(
        devices
            .iter()
            .filter_map(|device| device.revoked.as_ref())
            .all(|revoked| revoked.reason == ticketbooth::model::RevocationReason::PasswordChanged),
        "{devices:#?}"
    );
    // Only the new password opens the account now.
    assert_eq!(
        app.browser().log_in("ines", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.browser();
    let signed_in = fresh
        .post_form(
            "/fn/login",
            &[("username", "ines"), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_redirects_to(&signed_in, "/dashboard");
}

#[tokio::test]
async fn a_jwt_browser_changing_its_password_gets_fresh_tokens_and_stays_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    assert_redirects_to(&browser.sign_up_with("jude", JWT).await, "/dashboard");
    let cookies_before = browser.cookies_for("/auth/refresh");

    let response = browser.change_password(PASSWORD, NEW_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let changed: PasswordChanged = response.json().await.unwrap();
    assert_eq!(changed.ended, 0);
    assert_eq!(changed.access_valid_until, None);
    assert_ne!(browser.cookies_for("/auth/refresh"), cookies_before);
    assert!(browser.viewer().await.is_some());
    assert_eq!(
        browser.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_is_throttled_like_a_sign_in() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("kit").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in("kit", PASSWORD).await, "/dashboard");
    let hash = stored_hash(&app, "kit").await;

    for _ in 0..5 {
        let response = laptop
            .change_password("not my password", NEW_PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = error_body(response).await;
        assert!(
            body.to_string().contains("current_password"),
            "the error names the field: {body}"
        );
    }
    // The sixth attempt is refused before any hashing, even with the right password.
    let hashes = app.hashes_run();
    let refused = laptop.change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(app.hashes_run(), hashes);

    assert_eq!(stored_hash(&app, "kit").await, hash);
    assert!(phone.viewer().await.is_some(), "no device ended");
    assert!(laptop.viewer().await.is_some());
}

#[tokio::test]
async fn a_new_password_follows_the_sign_up_rules_and_a_refusal_costs_no_attempt() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("lou").await;
    let hash = stored_hash(&app, "lou").await;
    let hashes = app.hashes_run();

    for _ in 0..6 {
        let response = laptop.change_password(PASSWORD, "short").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = error_body(response).await;
        assert!(body.to_string().contains("new_password"), "{body}");
    }

    assert_eq!(app.hashes_run(), hashes, "nothing was hashed or verified");
    assert_eq!(stored_hash(&app, "lou").await, hash);
    let response = laptop.change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK, "no attempt was used up");
}

#[tokio::test]
async fn a_killed_device_cannot_change_the_password() {
    let app = spawn_app().await;
    let laptop = app.signed_in_browser("max").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("max", JWT).await, "/dashboard");
    let phone_device = laptop.other_device().await;
    assert_eq!(laptop.kill(&phone_device.id).await.status(), StatusCode::OK);
    let hash = stored_hash(&app, "max").await;

    // Its access token still reads; it cannot act.
    let response = phone.change_password(PASSWORD, NEW_PASSWORD).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(stored_hash(&app, "max").await, hash);
    assert!(laptop.viewer().await.is_some());
}

#[tokio::test]
async fn two_changes_at_once_leave_one_password_and_one_signed_in_browser_chain() {
    let app = spawn_app().await;
    let first = app.signed_in_browser("nia").await;
    let second = app.browser();
    assert_redirects_to(&second.log_in("nia", PASSWORD).await, "/dashboard");

    let (a, b) = tokio::join!(
        first.change_password(PASSWORD, "first new passphrase"),
        second.change_password(PASSWORD, "second new passphrase"),
    );

    let statuses = [a.status(), b.status()];
    let winners = statuses
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    assert_eq!(winners, 1, "exactly one change wins: {statuses:?}");
    let winner = if a.status() == StatusCode::OK {
        "first new passphrase"
    } else {
        "second new passphrase"
    };
    let browser = app.browser();
    let signed_in = browser
        .post_form("/fn/login", &[("username", "nia"), ("password", winner)])
        .await;
    assert_redirects_to(&signed_in, "/dashboard");
}

#[tokio::test]
async fn a_hash_made_with_weaker_parameters_is_replaced_at_the_next_sign_in() {
    let app = spawn_app().await;
    app.signed_in_browser("oda").await;
    let today = stored_hash(&app, "oda").await;
    assert!(!Passwords::is_weaker_than_today(&today));
    let weak = plant_weak_hash(&app, "oda", &today).await;
    assert!(Passwords::is_weaker_than_today(&weak));

    assert_redirects_to(&app.browser().log_in("oda", PASSWORD).await, "/dashboard");

    let upgraded = stored_hash(&app, "oda").await;
    assert_ne!(upgraded, weak);
    assert!(!Passwords::is_weaker_than_today(&upgraded), "{upgraded}");
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    // And it still opens the account.
    assert_redirects_to(&app.browser().log_in("oda", PASSWORD).await, "/dashboard");
}

#[tokio::test]
async fn under_session_check_a_password_change_promises_no_access_token_tail() {
    let app = spawn_app_with(&[("JWT_REVOCATION", "session-check")]).await;
    let laptop = app.signed_in_browser("pat").await;
    let phone = app.browser();
    assert_redirects_to(&phone.log_in_with("pat", JWT).await, "/dashboard");

    let changed: PasswordChanged = laptop
        .change_password(PASSWORD, NEW_PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(changed.ended, 1);
    assert_eq!(
        changed.access_valid_until, None,
        "its access token is refused at once"
    );
    let listed = laptop.devices().await;
    let revoked = listed
        .iter()
        .find_map(|device| device.revoked.as_ref())
        .expect("the phone is listed as revoked");
    assert_eq!(revoked.access_valid_until, None, "and not promised a tail");
    assert_eq!(phone.viewer_after_renewal().await, None);
}

#[tokio::test]
async fn two_sign_ins_that_both_upgrade_a_weak_hash_both_get_in() {
    let app = spawn_app().await;
    app.signed_in_browser("quin").await;
    let today = stored_hash(&app, "quin").await;
    plant_weak_hash(&app, "quin", &today).await;
    let (first, second) = (app.browser(), app.browser());

    // Both check the weak hash; one stores the upgrade, the other finds it already replaced.
    let (a, b) = tokio::join!(
        first.log_in("quin", PASSWORD),
        second.log_in("quin", PASSWORD)
    );

    assert_redirects_to(&a, "/dashboard");
    assert_redirects_to(&b, "/dashboard");
    assert!(!Passwords::is_weaker_than_today(
        &stored_hash(&app, "quin").await
    ));
}
