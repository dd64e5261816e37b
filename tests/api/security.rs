//! Protected pages, redirects after login, cross-origin requests, response headers.

use reqwest::{Client, StatusCode, redirect::Policy};

use crate::helpers::*;

#[tokio::test]
async fn anonymous_visits_to_protected_pages_go_to_login_and_remember_where() {
    let app = spawn_app().await;
    let browser = app.browser();
    assert_redirects_to(&browser.get("/dashboard").await, "/login?next=/dashboard");
    assert_redirects_to(&browser.get("/devices").await, "/login?next=/devices");
    assert_redirects_to(
        &browser.get("/devices?sort=ip&x=1").await,
        "/login?next=/devices%3Fsort%3Dip%26x%3D1",
    );
    // HEAD is GET without the body: a stranger's HEAD of a protected page is no 200.
    let head = browser
        .client
        .head(browser.url("/devices"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::SEE_OTHER);
    assert_redirects_to(&head, "/login?next=/devices");
}

#[tokio::test]
async fn signed_in_users_get_their_pages_rendered_on_the_server() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("gil").await;
    for page in ["/dashboard", "/devices"] {
        let response = browser.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let html = response.text().await.unwrap();
        assert!(html.contains("gil"), "{page} names the user");
    }
}

#[tokio::test]
async fn login_follows_next_only_to_a_path_on_this_site() {
    let app = spawn_app().await;
    app.signed_in_browser("hep").await;
    let browser = app.browser();
    for (next, expected) in [
        ("/devices", "/devices"),
        ("/devices?x=1", "/devices?x=1"),
        ("//evil.example", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("/\t/evil.example", "/dashboard"),
        ("", "/dashboard"),
    ] {
        let response = browser
            .post_form(
                "/fn/login",
                &[("username", "hep"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_redirects_to(&response, expected);
    }
}

#[tokio::test]
async fn cross_origin_posts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let keeper = app.signed_in_browser("ivy").await;
    let other = app.browser();
    assert_redirects_to(&other.log_in("ivy", PASSWORD).await, "/dashboard");

    let attempts = [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for (header, value) in attempts {
        let response = keeper
            .client
            .post(keeper.url("/fn/kill_other_devices"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{header}: {value}"
        );
        assert_eq!(error_body(response).await["error"], "cross_origin");
    }
    assert_eq!(keeper.devices().await.len(), 2);
    assert!(other.viewer().await.is_some());
}

#[tokio::test]
async fn a_cookie_carrying_post_with_no_provenance_is_refused_and_a_referer_is_checked() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("jay").await;
    let cookie = browser.session_cookie().unwrap();
    let bare = Client::builder().redirect(Policy::none()).build().unwrap();
    let post = |referer: Option<String>| {
        let mut request = bare
            .post(format!("{}/fn/kill_other_devices", app.base))
            .header("cookie", format!("tb_session={cookie}"));
        if let Some(referer) = referer {
            request = request.header("referer", referer);
        }
        request.send()
    };

    assert_eq!(post(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post(Some("https://evil.example/page".into()))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(format!("{}/devices", app.base)))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cross_origin_login_sets_no_cookie() {
    let app = spawn_app().await;
    app.signed_in_browser("kai").await;
    let browser = app.browser();
    let response = browser
        .client
        .post(browser.url("/fn/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "kai"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(session_set_cookies(&response).is_empty());
    assert!(browser.session_cookie().is_none());
}

#[tokio::test]
async fn responses_forbid_framing_sniffing_and_caching_of_pages() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("lou").await;
    let response = browser.get("/dashboard").await;
    let headers = response.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["content-security-policy"], "frame-ancestors 'none'");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn an_unknown_page_is_a_404() {
    let app = spawn_app().await;
    let response = app.browser().get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_form_body_that_is_not_utf8_is_a_400_not_a_500() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in [
        "/fn/login",
        "/fn/signup",
        "/fn/switch_mode",
        "/fn/kill_device",
    ] {
        let response = browser
            .client
            .post(browser.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'u', b'=', 0xff, 0xfe, 0x80])
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_client_error(),
            "{path}: {status} {}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(app.user_count().await, 0);
}

#[tokio::test]
async fn what_a_client_sent_is_echoed_only_as_a_short_excerpt() {
    let app = spawn_app().await;
    let huge = "x".repeat(20_000);
    for authorization in [
        huge.clone(),
        format!("{huge} token"),
        format!("Bearer {huge}"),
    ] {
        let response = Client::new()
            .get(format!("{}/api/me", app.base))
            .header("authorization", &authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let header_bytes: usize = response
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        assert!(header_bytes < 1_024, "{header_bytes} bytes of headers");
        let body = response.text().await.unwrap();
        assert!(body.len() < 1_024, "{} bytes of body", body.len());
    }
}

#[tokio::test]
async fn over_https_every_response_asks_for_https_only() {
    let secure = spawn_app_with(&[("PUBLIC_URL", "https://tickets.example")]).await;
    for path in ["/", "/login", "/fn/viewer", "/api/me", "/no/such/page"] {
        let response = secure.browser().get(path).await;
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    // Plain http (local development) cannot promise https.
    let plain = spawn_app().await;
    let response = plain.browser().get("/").await;
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}

#[tokio::test]
async fn a_bearer_token_beside_another_access_cookie_is_judged_without_a_panic() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.sign_up_with("pia", JWT).await;
    let other = api_user(&app, "quentin").await;
    for preset in ["make_admin", "expired", "drop_sid", "unchanged"] {
        let response = browser
            .client
            .post(browser.url("/fn/try_preset"))
            .header("authorization", format!("Bearer {}", other.access_token))
            .form(&[("preset", preset)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{preset}");
    }
    // A token whose parts are JSON but not objects.
    let odd = format!(
        "{}.{}.sig",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, "[1,2]"),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "\"text\""
        )
    );
    browser.jar.add_cookie_str(
        &format!("tb_access={odd}; Path=/"),
        &browser.url("/").parse().unwrap(),
    );
    for path in ["/fn/token_parts", "/fn/dashboard", "/fn/viewer"] {
        let response = browser.get(path).await;
        assert!(!response.status().is_server_error(), "{path}");
    }
    let preset = browser
        .post_form("/fn/try_preset", &[("preset", "make_admin")])
        .await;
    assert!(!preset.status().is_server_error());
}

/// A connection to `app` that sends `bytes` and then nothing more; what the server answers, or
/// `None` when it closes the connection without an answer. Fails if the server keeps it open
/// longer than `patience`.
async fn send_and_stall(
    app: &TestApp,
    bytes: &[u8],
    patience: std::time::Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.server.addr)
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    // A reset connection is an answer too: the server let go.
    let _ = tokio::time::timeout(patience, stream.read_to_end(&mut answer))
        .await
        .expect("the server gave up on the slow client");
    (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_and_others_are_served_meanwhile() {
    let app = spawn_app_with(&[("REQUEST_HEADER_TIMEOUT", "1s")]).await;
    let patience = std::time::Duration::from_secs(5);
    let stalled = send_and_stall(&app, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1", patience);
    let meanwhile = async {
        let response = app.browser().get("/login").await;
        assert_eq!(response.status(), StatusCode::OK);
    };
    let (answer, ()) = tokio::join!(stalled, meanwhile);
    assert!(
        answer
            .as_deref()
            .is_none_or(|text| !text.starts_with("HTTP/1.1 2")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_408() {
    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT", "1s")]).await;
    let origin = app.base.clone();
    let request = format!(
        "POST /fn/login HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=a"
    );
    let answer = send_and_stall(&app, request.as_bytes(), std::time::Duration::from_secs(5))
        .await
        .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn every_server_function_error_has_its_own_status_wherever_it_lives() {
    let app = spawn_app().await;
    let browser = app.browser();
    for path in ["/fn/login", "/auth/refresh/logout"] {
        let response = browser
            .client
            .post(browser.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'n', b'=', 0xff])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}
