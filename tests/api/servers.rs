//! Several servers in one process, as this suite runs them (and as a user embedding ticketbooth
//! in tests of their own would).

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

/// Leptos lists a server's pages by rendering the app once with resource loading switched off
/// by a flag the whole process shares (leptos-rs/leptos#4773). A page that another server was
/// rendering at that moment waited for its data forever: its response never came. The list is
/// now made once per process; pages keep answering while other servers start beside them.
#[tokio::test]
async fn pages_answer_while_other_servers_start_in_the_same_process() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("watcher").await;
    let starting = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for _ in 0..15 {
                spawn_app().await;
            }
        });
    });
    let mut pages = 0;
    while !starting.is_finished() {
        let page = tokio::time::timeout(Duration::from_secs(10), async {
            let response = browser.get("/dashboard").await;
            (response.status(), response.text().await.unwrap())
        })
        .await;
        let Ok((status, body)) = page else {
            panic!("page {pages}: no complete answer within 10 s while other servers started");
        };
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("watcher"),
            "page {pages} does not name its viewer"
        );
        pages += 1;
    }
    starting.join().unwrap();
    assert!(pages > 0);
}

#[tokio::test]
async fn every_response_names_the_instance_that_answered() {
    let named = spawn_app_with(&[("INSTANCE_NAME", "b-2")]).await;
    for path in ["/readyz", "/login", "/api/me", "/no-such-page"] {
        let response = named.browser().get(path).await;
        assert_eq!(
            response
                .headers()
                .get("x-instance")
                .map(|v| v.to_str().unwrap()),
            Some("b-2"),
            "{path}"
        );
    }
    let unnamed = spawn_app().await;
    let response = unnamed.browser().get("/readyz").await;
    let expected = unnamed.base.trim_start_matches("http://").to_owned();
    assert_eq!(
        response
            .headers()
            .get("x-instance")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some(expected),
        "the site address by default"
    );
}

/// The first step of a stop (SIGTERM): `/readyz` turns 503 and says why, so that a balancer
/// sends new requests elsewhere, while the server keeps answering everything else.
#[tokio::test]
async fn a_draining_server_says_so_on_readyz_and_still_serves() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("dana").await;
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["draining"], false);

    app.server.drain().await;

    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        (body["ready"].clone(), body["draining"].clone()),
        (false.into(), true.into())
    );
    assert_eq!(body["database"], true);
    assert!(browser.viewer().await.is_some(), "still served");
}
