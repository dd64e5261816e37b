//! Signing up and logging in.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn sign_up_refuses_bad_fields_all_at_once_and_writes_nothing() {
    let app = spawn_app().await;
    let browser = app.browser();

    let response = browser.sign_up("a b", "short").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(response).await;
    assert_eq!(body["error"], "invalid");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "password"]);
    assert_eq!(app.user_count().await, 0);
    assert!(browser.session_cookie().is_none());
}

#[tokio::test]
async fn each_username_rule_has_its_own_message() {
    let app = spawn_app().await;
    let browser = app.browser();
    for (username, expected) in [
        ("ab", "at least 3"),
        (&"x".repeat(33), "at most 32"),
        ("émile", "“é” not allowed"),
        ("with space", "spaces not allowed"),
    ] {
        let body = error_body(browser.sign_up(username, PASSWORD).await).await;
        let message = body["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{username:?}: {message}");
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn passwords_may_be_any_unicode_between_8_and_128_characters() {
    let app = spawn_app().await;
    let browser = app.browser();
    let too_long = "é".repeat(129);
    assert_eq!(
        browser.sign_up("unicode", &too_long).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // 128 two-byte characters: 256 bytes, within the rules.
    let longest = "é".repeat(128);
    assert_redirects_to(&browser.sign_up("unicode", &longest).await, "/dashboard");
    let other = app.browser();
    assert_redirects_to(&other.log_in("unicode", &longest).await, "/dashboard");
}

#[tokio::test]
async fn usernames_collide_whatever_their_letter_case() {
    let app = spawn_app().await;
    app.signed_in_browser("Alice").await;

    let response = app.browser().sign_up("alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = error_body(response).await;
    assert_eq!(body["error"], "username_taken");
    assert_eq!(app.user_count().await, 1);
}

#[tokio::test]
async fn login_ignores_letter_case_but_shows_the_name_as_typed_at_sign_up() {
    let app = spawn_app().await;
    app.signed_in_browser("Alice").await;
    let browser = app.browser();

    assert_redirects_to(&browser.log_in("ALICE", PASSWORD).await, "/dashboard");

    assert_eq!(browser.viewer().await.unwrap().username, "Alice");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer_and_cost() {
    let app = spawn_app().await;
    app.signed_in_browser("bob").await;
    let browser = app.browser();

    let hashes = app.hashes_run();
    let wrong_password = browser.log_in("bob", "not the password").await;
    assert_eq!(app.hashes_run(), hashes + 1);
    let unknown_user = browser.log_in("nobody", "not the password").await;
    // The unknown user still paid for one verification, of the dummy hash.
    assert_eq!(app.hashes_run(), hashes + 2);

    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_user.status(), wrong_password.status());
    let (wrong_password, unknown_user) = (
        wrong_password.text().await.unwrap(),
        unknown_user.text().await.unwrap(),
    );
    assert_eq!(wrong_password, unknown_user);
    assert!(wrong_password.contains("invalid_credentials"));
    assert!(browser.session_cookie().is_none());
}

#[tokio::test]
async fn a_megabyte_password_is_refused_before_anything_is_hashed() {
    let app = spawn_app().await;
    let browser = app.browser();
    let hashes = app.hashes_run();

    let huge = "x".repeat(1024 * 1024);
    let response = browser.log_in("someone", &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_body(response).await["error"], "payload_too_large");

    // Small enough to pass the body limit, too long for a password: refused by the 1 KiB rule.
    let long = "x".repeat(2 * 1024);
    assert_eq!(
        browser.sign_up("someone", &long).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        browser.log_in("someone", &long).await.status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(app.hashes_run(), hashes, "no password was hashed");
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_phc_strings() {
    let app = spawn_app().await;
    app.signed_in_browser("carol").await;
    let user = app
        .server
        .state
        .db
        .user_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!user.password_hash.contains(PASSWORD));
    assert!(
        !format!("{user:?}").contains(&user.password_hash),
        "Debug hides the hash"
    );
}

#[tokio::test]
async fn a_form_posted_without_javascript_comes_back_with_its_error_in_the_url() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser
        .post_form_without_javascript(
            "/fn/login",
            "/login?next=/devices",
            &[("username", "nobody"), ("password", "whatever1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&browser.url("/login?next=/devices&")),
        "{location}"
    );
    assert!(location.contains("__err="), "{location}");
}

#[tokio::test]
async fn a_streamed_body_without_length_is_cut_off_at_the_limit() {
    let app = spawn_app().await;
    let browser = app.browser();
    let hashes = app.hashes_run();
    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 16 * 1024]));
    let mut first = b"username=someone&password=".to_vec();
    first.extend(vec![b'x'; 1024]);
    let stream = futures_util::stream::iter(std::iter::once(Ok(first)).chain(chunks));

    let response = browser
        .client
        .post(browser.url("/fn/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.hashes_run(), hashes);
}
