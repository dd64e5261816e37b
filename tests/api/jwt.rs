//! JWT mode through the JSON API: every forged token refused for its own reason, refresh
//! rotation and reuse detection, kills that wait for `exp`, key rotation.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use serde_json::{Value, json};
use ticketbooth::{
    auth::jwt::keys::KeyRing,
    model::{Mode, RevocationReason},
};

use crate::helpers::*;

#[tokio::test]
async fn a_token_the_server_signs_it_accepts() {
    let app = jwt_app(&[]).await;
    let tokens = api_user(&app, "tina").await;
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 300);
    assert!(tokens.refresh_token.starts_with("tbr_"));

    let response = me(&app, &tokens.access_token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["username"], "tina");
    assert_eq!(me["mode"], "jwt");
    let header = part(&tokens.access_token, 0);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    let claims = part(&tokens.access_token, 1);
    for claim in [
        "iss", "aud", "sub", "iat", "exp", "jti", "sid", "name", "role",
    ] {
        assert!(!claims[claim].is_null(), "claim {claim} missing");
    }
    assert_eq!(claims["sid"], me["device_id"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
}

#[tokio::test]
async fn every_forged_or_broken_token_is_refused_for_its_own_reason() {
    let app = jwt_app(&[]).await;
    let real = api_user(&app, "uma").await.access_token;
    let header = part(&real, 0);
    let claims = part(&real, 1);
    let now = app.clock.now();
    let with = |changes: &[(&str, Value)]| {
        let mut claims = claims.clone();
        for (name, value) in changes {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(*name);
            } else {
                claims[*name] = value.clone();
            }
        }
        claims
    };
    let signature_of = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let admin = encode_part(&with(&[("role", json!("admin"))]));
    let tampered_payload = format!("{}.{admin}.{}", encode_part(&header), signature_of(&real));
    let mut flipped = real.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped_signature = String::from_utf8(flipped).unwrap();
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": header["kid"]});
    let alg_none = format!("{}.{}.", encode_part(&none_header), encode_part(&claims));
    let rs256_header = json!({"alg": "RS256", "typ": "at+jwt", "kid": header["kid"]});
    let rs256 = format!(
        "{}.{}.{}",
        encode_part(&rs256_header),
        encode_part(&claims),
        signature_of(&real)
    );
    let unknown_kid = json!({"typ": "at+jwt", "kid": "not-a-key"});
    let no_kid = json!({"typ": "at+jwt"});
    let id_token = json!({"typ": "JWT", "kid": header["kid"]});

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "tampered payload, old signature",
            tampered_payload,
            "signature does not match",
        ),
        (
            "one character of the signature",
            flipped_signature,
            "signature does not match",
        ),
        ("alg none", alg_none, "algorithm none is not allowed"),
        (
            "HS384, correctly signed",
            forge(Algorithm::HS384, &header, &claims),
            "algorithm HS384 is not allowed",
        ),
        ("RS256 header", rs256, "algorithm RS256 is not allowed"),
        (
            "unknown kid",
            forge(Algorithm::HS256, &unknown_kid, &claims),
            "no key named",
        ),
        (
            "no kid",
            forge(Algorithm::HS256, &no_kid, &claims),
            "names no key",
        ),
        (
            "another token type",
            forge(Algorithm::HS256, &id_token, &claims),
            "not an access token",
        ),
        (
            "expired",
            forge(Algorithm::HS256, &header, &with(&[("exp", json!(now - 3))])),
            "expired",
        ),
        (
            "exp 50 years out, unsigned change",
            format!(
                "{}.{}.{}",
                encode_part(&header),
                encode_part(&with(&[("exp", json!(now + 50 * 365 * 86_400))])),
                signature_of(&real)
            ),
            "signature does not match",
        ),
        (
            "wrong iss",
            forge(
                Algorithm::HS256,
                &header,
                &with(&[("iss", json!("https://evil.example"))]),
            ),
            "issued by someone else",
        ),
        (
            "wrong aud",
            forge(
                Algorithm::HS256,
                &header,
                &with(&[("aud", json!("another-app"))]),
            ),
            "meant for someone else",
        ),
        (
            "aud as a number",
            forge(Algorithm::HS256, &header, &with(&[("aud", json!(7))])),
            "not those of an access token",
        ),
        (
            "exp as a string",
            forge(
                Algorithm::HS256,
                &header,
                &with(&[("exp", json!((now + 60).to_string()))]),
            ),
            "not those of an access token",
        ),
        (
            "no exp",
            forge(Algorithm::HS256, &header, &with(&[("exp", Value::Null)])),
            "exp claim is missing",
        ),
        (
            "no sub",
            forge(Algorithm::HS256, &header, &with(&[("sub", Value::Null)])),
            "sub claim is missing",
        ),
        (
            "no sid",
            forge(Algorithm::HS256, &header, &with(&[("sid", Value::Null)])),
            "sid claim is missing",
        ),
        (
            "no iss",
            forge(Algorithm::HS256, &header, &with(&[("iss", Value::Null)])),
            "iss claim is missing",
        ),
        (
            "issued in the future",
            forge(
                Algorithm::HS256,
                &header,
                &with(&[("iat", json!(now + 600)), ("exp", json!(now + 900))]),
            ),
            "issued in the future",
        ),
        ("garbage", "not.a.token".into(), "malformed"),
        ("two parts", "abc.def".into(), "three dot-separated parts"),
        ("empty", String::new(), "empty"),
    ];
    for (case, token, why) in cases {
        let response = me(&app, &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_refused(response, why).await;
    }
    // The untouched token still works: the refusals were about the forgeries.
    assert_eq!(me(&app, &real).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_stated_leeway_is_two_seconds_and_no_more() {
    let app = jwt_app(&[]).await;
    let real = api_user(&app, "val").await.access_token;
    let exp = part(&real, 1)["exp"].as_i64().unwrap();
    app.clock.advance(exp - app.clock.now() + 2);
    assert_eq!(me(&app, &real).await.status(), StatusCode::OK);
    app.clock.advance(1);
    assert_refused(me(&app, &real).await, "expired").await;
}

#[tokio::test]
async fn a_missing_or_foreign_authorization_is_a_plain_401() {
    let app = jwt_app(&[]).await;
    let response = api()
        .get(format!("{}/api/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // No credentials, no error code (RFC 6750, section 3.1).
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"ticketbooth\""
    );
    assert_eq!(error_body(response).await["error"], "unauthenticated");

    let basic = api()
        .get(format!("{}/api/me", app.base))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_refused(basic, "only Bearer").await;
    let empty_bearer = api()
        .get(format!("{}/api/me", app.base))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_refused(empty_bearer, "empty").await;
}

#[tokio::test]
async fn every_refresh_rotates_and_the_old_token_is_spent() {
    let app = jwt_app(&[]).await;
    let first = api_user(&app, "walt").await;

    let response = refresh(&app, &first.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Tokens = response.json().await.unwrap();

    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(
        part(&second.access_token, 1)["sid"],
        part(&first.access_token, 1)["sid"]
    );
    assert_eq!(
        me(&app, &second.access_token).await.status(),
        StatusCode::OK
    );
    let third: Tokens = refresh(&app, &second.refresh_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me(&app, &third.access_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replay_within_the_grace_window_gets_the_same_successor_not_a_sibling() {
    let app = jwt_app(&[]).await;
    let first = api_user(&app, "xena").await;
    let second: Tokens = refresh(&app, &first.refresh_token)
        .await
        .json()
        .await
        .unwrap();

    app.clock.advance(10);
    let again = refresh(&app, &first.refresh_token).await;

    assert_eq!(
        again.status(),
        StatusCode::OK,
        "two tabs refreshing at once"
    );
    let same: Tokens = again.json().await.unwrap();
    assert_eq!(same.refresh_token, second.refresh_token);
    assert_eq!(
        same.access_token, second.access_token,
        "the very access token"
    );
    // One chain, one live tip: it rotates once, and its successor is the tip.
    let third = refresh(&app, &second.refresh_token).await;
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_family() {
    let app = jwt_app(&[]).await;
    let stolen = api_user(&app, "yuri").await;
    let legitimate: Tokens = refresh(&app, &stolen.refresh_token)
        .await
        .json()
        .await
        .unwrap();

    app.clock.advance(11);
    let replay = refresh(&app, &stolen.refresh_token).await;

    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert!(
        error_body(replay).await["reason"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    // The live successor dies with its family: whoever holds it must sign in again.
    let successor = refresh(&app, &legitimate.refresh_token).await;
    assert_eq!(successor.status(), StatusCode::UNAUTHORIZED);
    assert!(
        error_body(successor).await["reason"]
            .as_str()
            .unwrap()
            .contains("signed out")
    );
    let family = app
        .server
        .state
        .db
        .family(part(&stolen.access_token, 1)["sid"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        family
            .revoked_reason
            .as_deref()
            .map(RevocationReason::from_stored),
        Some(RevocationReason::Reused)
    );
}

/// Every racer's refresh succeeded, and all got the same successor: no sibling chains.
async fn assert_one_successor(responses: Vec<reqwest::Response>) {
    let mut successors = std::collections::HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        successors.insert(response.json::<Tokens>().await.unwrap().refresh_token);
    }
    assert_eq!(successors.len(), 1, "every racer got the same successor");
}

#[tokio::test]
async fn ten_concurrent_refreshes_of_one_token_leave_one_chain_with_one_tip() {
    let app = jwt_app(&[]).await;
    let tokens = api_user(&app, "zed").await;

    let responses =
        futures_util::future::join_all((0..10).map(|_| refresh(&app, &tokens.refresh_token))).await;

    assert_one_successor(responses).await;
    let (family, history) = family_and_tokens(&app, &tokens.access_token).await;
    assert_eq!(family.revoked_at, None);
    assert_eq!(history.len(), 2, "the first token and its one successor");
    assert!(history[0].used_at.is_some() && history[1].used_at.is_none());
}

/// Two tabs whose refreshes land on two instances of one database (a round-robin balancer):
/// the rule holds across servers, since nothing of it is in either server's memory. The
/// successor is derived from the presented token with the key ring both share, and the
/// database lets one exchange write it (row locks on PostgreSQL, the one writer on SQLite).
/// All succeed, with one successor, one chain.
#[tokio::test]
async fn concurrent_refreshes_of_one_token_on_two_instances_leave_one_chain() {
    let app = jwt_app(&[]).await;
    let other = app.another_instance().await;
    let tokens = api_user(&app, "zoe").await;

    let responses = futures_util::future::join_all((0..10).map(|n| {
        let instance = if n % 2 == 0 { &app } else { &other };
        refresh(instance, &tokens.refresh_token)
    }))
    .await;

    assert_one_successor(responses).await;
    let (family, history) = family_and_tokens(&other, &tokens.access_token).await;
    assert_eq!(family.revoked_at, None);
    assert_eq!(history.len(), 2, "the first token and its one successor");
}

#[tokio::test]
async fn a_refresh_loop_is_slowed_down_and_a_family_keeps_few_rows() {
    let app = jwt_app(&[]).await;
    let mut tokens = api_user(&app, "yul").await;

    // A client looping on refresh: after 20 in a minute, 429 with Retry-After, and nothing
    // is written.
    let mut refused = None;
    for _ in 0..25 {
        let response = refresh(&app, &tokens.refresh_token).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::OK);
        tokens = response.json().await.unwrap();
    }
    let refused = refused.expect("the loop was slowed down");
    let wait: i64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The device is not signed out: after the wait, its token still rotates.
    app.clock.advance(wait);
    let later = refresh(&app, &tokens.refresh_token).await;
    assert_eq!(later.status(), StatusCode::OK);
    tokens = later.json().await.unwrap();
    // However long it runs, a family keeps a bounded number of rows.
    for _ in 0..60 {
        app.clock.advance(4);
        let response = refresh(&app, &tokens.refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens = response.json().await.unwrap();
    }
    let (_, rows) = family_and_tokens(&app, &tokens.access_token).await;
    assert!(rows.len() <= 24, "{} rows", rows.len());
    assert_eq!(
        me(&app, &tokens.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_expired_and_garbage_refresh_tokens_are_refused() {
    let app = jwt_app(&[("REFRESH_TOKEN_TTL", "1h")]).await;
    let tokens = api_user(&app, "abe").await;
    assert_eq!(
        refresh(&app, "tbr_unknown").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refresh(&app, "").await.status(), StatusCode::UNAUTHORIZED);
    app.clock.advance(3600);
    let expired = refresh(&app, &tokens.refresh_token).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert!(
        error_body(expired).await["reason"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_killed_device_keeps_its_access_token_until_exp_and_cannot_refresh() {
    let app = jwt_app(&[]).await;
    let victim = api_user(&app, "boe").await;
    let killer = api_token(&app, "boe").await;
    let victim_id = part(&victim.access_token, 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let killed = with_bearer(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/devices/{victim_id}"),
        &killer.access_token,
    )
    .await;

    assert_eq!(killed.status(), StatusCode::OK);
    let killed: Value = killed.json().await.unwrap();
    let exp = part(&victim.access_token, 1)["exp"].as_i64().unwrap();
    assert_eq!(killed["access_valid_until"]["unix"], exp);
    // Signature-only checks: the revoked device still gets in...
    assert_eq!(
        me(&app, &victim.access_token).await.status(),
        StatusCode::OK
    );
    // ...cannot renew...
    assert_eq!(
        refresh(&app, &victim.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // ...is listed as revoked, with the time its access ends...
    let listed = devices(&app, &killer.access_token).await;
    let row = listed.iter().find(|device| device.id == victim_id).unwrap();
    assert_eq!(
        row.revoked
            .as_ref()
            .unwrap()
            .access_valid_until
            .as_ref()
            .unwrap()
            .unix,
        exp
    );
    // ...and is out once the token expires.
    app.clock.advance(exp - app.clock.now() + 3);
    assert_refused(me(&app, &victim.access_token).await, "expired").await;
    let listed = devices(&app, &api_token(&app, "boe").await.access_token).await;
    assert!(listed.iter().all(|device| device.id != victim_id));
}

#[tokio::test]
async fn another_users_jwt_device_is_not_found_and_stays_alive() {
    let app = jwt_app(&[]).await;
    let mallory = api_user(&app, "mallory").await;
    let victim = api_user(&app, "victim").await;
    let victim_id = part(&victim.access_token, 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = with_bearer(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/devices/{victim_id}"),
        &mallory.access_token,
    )
    .await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        refresh(&app, &victim.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_logout_revokes_this_device_only() {
    let app = jwt_app(&[]).await;
    let leaving = api_user(&app, "cat").await;
    let staying = api_token(&app, "cat").await;

    let response = with_bearer(
        &app,
        reqwest::Method::POST,
        "/api/logout",
        &leaving.access_token,
    )
    .await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refresh(&app, &leaving.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &staying.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn device_ids_are_opaque() {
    let app = jwt_app(&[]).await;
    let tokens = api_user(&app, "dan").await;
    let listed = devices(&app, &tokens.access_token).await;
    assert_eq!(listed.len(), 1);
    let id = &listed[0].id;
    assert_eq!(listed[0].mode, Mode::Jwt);
    assert!(listed[0].is_current);
    let hash = ticketbooth::auth::jwt::refresh::hash_refresh_token(&tokens.refresh_token);
    assert!(!tokens.refresh_token.contains(id.as_str()));
    assert_ne!(*id, URL_SAFE_NO_PAD.encode(&hash));
    assert!(
        !hash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .contains(id.as_str())
    );
    // The device id is the `sid` of the access token: it names the device, it opens nothing.
    assert_eq!(part(&tokens.access_token, 1)["sid"], json!(id));
    assert_eq!(id.len(), 22);
}

#[tokio::test]
async fn the_database_holds_only_hashes_of_refresh_tokens() {
    let app = jwt_app(&[]).await;
    let tokens = api_user(&app, "eli").await;
    let rotated: Tokens = refresh(&app, &tokens.refresh_token)
        .await
        .json()
        .await
        .unwrap();
    let stored = app.stored_data();
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|window| window == needle);
    for token in [&tokens.refresh_token, &rotated.refresh_token] {
        assert!(!contains(token.as_bytes()));
        assert!(contains(
            &ticketbooth::auth::jwt::refresh::hash_refresh_token(token)
        ));
    }
    assert!(!contains(tokens.access_token.as_bytes()));
}

#[tokio::test]
async fn a_rotated_key_keeps_old_tokens_valid_until_it_retires() {
    // Keys in the data folder this time (no JWT_SECRET), as a default install has them.
    let app = spawn_app().await;
    let old = api_user(&app, "fox").await;
    let old_kid = part(&old.access_token, 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = app.server.state.config.clone();
    let new_kid = KeyRing::rotate_file(&config, app.clock.now(), 600).unwrap();

    let app = app.restart().await;

    let fresh = api_token(&app, "fox").await;
    assert_eq!(part(&fresh.access_token, 0)["kid"], json!(new_kid));
    assert_ne!(new_kid, old_kid);
    let old_still = me(&app, &old.access_token).await;
    assert_eq!(
        old_still.status(),
        StatusCode::OK,
        "the old key still verifies"
    );
    // The refresh tokens were never signed: they survive any key change.
    let renewed: Tokens = refresh(&app, &old.refresh_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(part(&renewed.access_token, 0)["kid"], json!(new_kid));

    app.clock.advance(600);
    let app = app.restart().await;
    assert_refused(me(&app, &old.access_token).await, "no key named").await;
    let latest = api_token(&app, "fox").await;
    assert_eq!(
        me(&app, &latest.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_json_api_refuses_bad_bodies_and_writes_nothing() {
    let app = jwt_app(&[]).await;
    let post = |body: &'static str, content_type: &'static str| {
        api()
            .post(format!("{}/api/users", app.base))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            "{not json",
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            r#"{"username": "gil"}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            r#"{"username": 7, "password": "x"}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            r#"{"username": "gil", "password": ["a"]}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            r#"username=gil&password=x"#,
            "application/x-www-form-urlencoded",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            r#"{"username": "g", "password": "short"}"#,
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ];
    for (body, content_type, status, kind) in cases {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(error_body(response).await["error"], kind, "{body}");
    }
    let huge = format!(
        r#"{{"username": "gil", "password": "{}"}}"#,
        "x".repeat(64 * 1024)
    );
    let response = api()
        .post(format!("{}/api/token", app.base))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_body(response).await["error"], "payload_too_large");
    assert_eq!(app.user_count().await, 0);

    let unknown = api()
        .get(format!("{}/api/nothing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_body(unknown).await["error"], "not_found");
    let wrong_password = api()
        .post(format!("{}/api/token", app.base))
        .json(&json!({"username": "nobody", "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong_password.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn two_authorization_headers_are_a_400_invalid_request_on_every_route() {
    let app = jwt_app(&[]).await;
    let alice = api_user(&app, "alice").await;
    let bob = api_user(&app, "bob").await;

    for (first, second) in [(&alice, &bob), (&alice, &alice)] {
        let response = api()
            .get(format!("{}/api/me", app.base))
            .header("authorization", format!("Bearer {}", first.access_token))
            .header("authorization", format!("Bearer {}", second.access_token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
        assert_eq!(error_body(response).await["error"], "invalid_request");
    }
    // Whatever the route: a page, a server function, the refresh endpoint.
    for path in ["/", "/fn/viewer", "/dashboard", "/auth/refresh"] {
        let response = api()
            .get(format!("{}{path}", app.base))
            .header("authorization", "Bearer a")
            .header("authorization", "Bearer b")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    // The header is still read case-insensitively by its scheme.
    let lower = api()
        .get(format!("{}/api/me", app.base))
        .header("authorization", format!("bearer {}", alice.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);
}
