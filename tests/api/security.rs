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
