//! Cookie sessions: the cookie, its lifetime, and what the database holds.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use ticketbooth::{
    auth::session::sql::SqlSessionStore,
    core::config::LAST_SEEN_GRANULARITY,
    model::{Mode, Viewer},
    server::sweep_expired,
};
use tower_sessions::{SessionStore as _, session::Id};

use crate::helpers::*;

const DAY: i64 = 86_400;

#[tokio::test]
async fn login_replaces_the_session_cookie_and_ends_the_old_session() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("dave").await;
    let before = browser.session_cookie().unwrap();

    assert_redirects_to(&browser.log_in("dave", PASSWORD).await, "/dashboard");

    let after = browser.session_cookie().unwrap();
    assert_ne!(before, after);
    let replay = get_with_session_cookie(&app, "/fn/viewer", &before).await;
    assert_eq!(replay.json::<Option<Viewer>>().await.unwrap(), None);
    assert_eq!(browser.devices().await.len(), 1);
}

#[tokio::test]
async fn a_session_id_planted_before_login_is_never_used() {
    let app = spawn_app().await;
    app.signed_in_browser("erin").await;
    let browser = app.browser();
    let planted = URL_SAFE_NO_PAD.encode([7u8; 16]);
    browser.jar.add_cookie_str(
        &format!("tb_session={planted}; Path=/"),
        &app.base.parse().unwrap(),
    );

    assert_redirects_to(&browser.log_in("erin", PASSWORD).await, "/dashboard");

    assert_ne!(browser.session_cookie().unwrap(), planted);
    let replay = get_with_session_cookie(&app, "/fn/viewer", &planted).await;
    assert_eq!(replay.json::<Option<Viewer>>().await.unwrap(), None);
}

#[tokio::test]
async fn the_session_cookie_is_httponly_lax_host_only_and_not_secure_over_http() {
    let app = spawn_app().await;
    let response = app.browser().sign_up("fay", PASSWORD).await;

    let cookies = session_set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let attributes: Vec<&str> = cookies[0].split("; ").skip(1).collect();
    assert!(attributes.contains(&"HttpOnly"), "{attributes:?}");
    assert!(attributes.contains(&"SameSite=Lax"), "{attributes:?}");
    assert!(attributes.contains(&"Path=/"), "{attributes:?}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain")),
        "{attributes:?}"
    );
    assert!(!attributes.contains(&"Secure"), "{attributes:?}");
    let max_age: i64 = attributes
        .iter()
        .find_map(|a| a.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((14 * DAY - 60..=14 * DAY).contains(&max_age), "{max_age}");
}

#[tokio::test]
async fn over_https_the_session_cookie_is_a_secure_host_cookie_and_its_removal_too() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://tickets.example")]).await;
    let browser = app.browser();
    let post = |path: &'static str, form: &'static [(&'static str, &'static str)]| {
        browser
            .client
            .post(browser.url(path))
            .header("origin", "https://tickets.example")
            .form(form)
            .send()
    };

    let signed_up = post("/fn/signup", &[("username", "gus"), ("password", PASSWORD)])
        .await
        .unwrap();
    let cookies = set_cookies_named(&signed_up, "__Host-tb_session");
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let attributes: Vec<&str> = cookies[0].split("; ").collect();
    assert!(attributes.contains(&"Secure"), "{cookies:?}");
    assert!(attributes.contains(&"Path=/"), "{cookies:?}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain")),
        "{cookies:?}"
    );

    // The jar of an http test client does not send Secure cookies: hand it over.
    let id = cookies[0]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-tb_session=")
        .to_owned();
    let signed_out = browser
        .client
        .post(browser.url("/auth/refresh/logout"))
        .header("origin", "https://tickets.example")
        .header("cookie", format!("__Host-tb_session={id}"))
        .send()
        .await
        .unwrap();
    let removal = set_cookies_named(&signed_out, "__Host-tb_session");
    assert_eq!(removal.len(), 1, "{removal:?}");
    assert!(removal[0].contains("Max-Age=0"), "{removal:?}");
    assert!(
        removal[0].split("; ").any(|a| a == "Secure"),
        "browsers ignore it without: {removal:?}"
    );
}

#[tokio::test]
async fn logout_makes_the_old_cookie_worthless() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("hal").await;
    let cookie = browser.session_cookie().unwrap();

    let response = browser.log_out().await;

    assert_redirects_to(&response, "/login");
    let removal = session_set_cookies(&response);
    assert!(
        removal.iter().any(|c| c.contains("Max-Age=0")),
        "{removal:?}"
    );
    assert!(browser.session_cookie().is_none());
    let replay = get_with_session_cookie(&app, "/dashboard", &cookie).await;
    assert_redirects_to(&replay, "/login?next=/dashboard");
    assert_eq!(
        browser.get("/fn/devices").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_survive_a_server_restart_on_the_same_database() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("ida").await;
    let cookie = browser.session_cookie().unwrap();

    let app = app.restart().await;

    let response = get_with_session_cookie(&app, "/fn/viewer", &cookie).await;
    let viewer: Option<Viewer> = response.json().await.unwrap();
    assert_eq!(viewer.unwrap().username, "ida");
}

#[tokio::test]
async fn the_database_holds_only_hashes_of_session_ids() {
    let app = spawn_app().await;
    let browsers = [
        app.signed_in_browser("joe").await,
        app.signed_in_browser("kim").await,
    ];

    let stored = app.stored_data();
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|window| window == needle);
    for browser in &browsers {
        let cookie = browser.session_cookie().unwrap();
        let raw_id = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        assert_eq!(raw_id.len(), 16);
        assert!(!contains(cookie.as_bytes()), "the cookie value is stored");
        assert!(!contains(&raw_id), "the raw session id is stored");
        // The search looked in the right place: the hash that keys the row is there.
        assert!(contains(&Sha256::digest(&raw_id)), "the id hash is missing");
    }
}

#[tokio::test]
async fn an_idle_session_expires_and_is_neither_accepted_nor_listed() {
    let app = spawn_app().await;
    let busy = app.signed_in_browser("lee").await;
    let idle = app.browser();
    assert_redirects_to(&idle.log_in("lee", PASSWORD).await, "/dashboard");
    assert_eq!(busy.devices().await.len(), 2);

    app.clock.advance(10 * DAY);
    assert!(busy.viewer().await.is_some(), "use keeps a session alive");
    app.clock.advance(5 * DAY);

    assert_eq!(
        busy.devices().await.len(),
        1,
        "the idle session is not listed"
    );
    assert!(busy.viewer().await.is_some());
    assert_eq!(
        idle.viewer().await,
        None,
        "the idle session is not accepted"
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_limit_however_busy() {
    let app = spawn_app_with(&[("SESSION_ABSOLUTE_TIMEOUT", "1d")]).await;
    let browser = app.signed_in_browser("max").await;

    app.clock.advance(DAY / 2);
    assert!(browser.viewer().await.is_some());
    app.clock.advance(DAY / 2 - 1);
    assert!(browser.viewer().await.is_some());
    app.clock.advance(1);

    assert_eq!(browser.viewer().await, None);
    assert!(browser.session_cookie().is_none(), "the cookie was removed");
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("ned").await;
    let signed_in = browser.devices().await[0].last_active.unix;

    app.clock.advance(LAST_SEEN_GRANULARITY / 2);
    browser.viewer().await;
    assert_eq!(browser.devices().await[0].last_active.unix, signed_in);

    app.clock.advance(LAST_SEEN_GRANULARITY / 2);
    browser.viewer().await;
    assert_eq!(
        browser.devices().await[0].last_active.unix,
        signed_in + LAST_SEEN_GRANULARITY
    );
}

#[tokio::test]
async fn the_sweeper_deletes_expired_sessions() {
    let app = spawn_app().await;
    app.signed_in_browser("oli").await;
    app.signed_in_browser("pat").await;
    assert_eq!(sweep_expired(&app.server.state).await.unwrap(), 0);

    app.clock.advance(14 * DAY);

    assert_eq!(sweep_expired(&app.server.state).await.unwrap(), 2);
}

#[tokio::test]
async fn a_session_killed_while_a_slow_request_holds_it_stays_dead() {
    let app = spawn_app().await;
    let victim = app.signed_in_browser("quinn").await;
    let killer = app.browser();
    assert_redirects_to(&killer.log_in("quinn", PASSWORD).await, "/dashboard");
    let store = SqlSessionStore::new(app.server.state.db.clone(), app.clock.clone());
    let victim_id: Id = victim.session_cookie().unwrap().parse().unwrap();

    // A slow request of the victim has read its session...
    let record = store.load(&victim_id).await.unwrap().unwrap();
    // ...the session is killed from the other browser...
    let victim_device = killer
        .devices()
        .await
        .into_iter()
        .find(|device| !device.is_current)
        .unwrap();
    assert_eq!(
        killer.kill(&victim_device.id).await.status(),
        StatusCode::OK
    );
    // ...and the slow request finishes by saving what it read.
    store.save(&record).await.unwrap();

    assert!(store.load(&victim_id).await.unwrap().is_none());
    assert_eq!(victim.viewer().await, None);
    assert_eq!(killer.devices().await.len(), 1);
}

#[tokio::test]
async fn a_malformed_session_cookie_is_anonymous_and_removed() {
    let app = spawn_app().await;
    for cookie in ["not-base64!", "", "AAAA", &"A".repeat(4000)] {
        let response = get_with_session_cookie(&app, "/fn/viewer", cookie).await;
        assert_eq!(response.status(), StatusCode::OK, "{cookie:?}");
        assert_eq!(response.json::<Option<Viewer>>().await.unwrap(), None);
    }
    let unknown = URL_SAFE_NO_PAD.encode([1u8; 16]);
    let response = get_with_session_cookie(&app, "/fn/viewer", &unknown).await;
    assert!(
        session_set_cookies(&response)
            .iter()
            .any(|c| c.contains("Max-Age=0")),
        "an unknown session cookie is removed"
    );
}

#[tokio::test]
async fn with_the_memory_store_a_restart_signs_out_cookie_sessions_but_not_jwt_users() {
    let app = spawn_app_with(&[("SESSION_STORE", "memory")]).await;
    let session = app.signed_in_browser("rob").await;
    let jwt = app.browser();
    jwt.log_in_with("rob", "jwt").await;
    assert!(session.viewer().await.is_some() && jwt.viewer().await.is_some());

    let app = app.restart().await;

    assert_eq!(session.viewer().await, None, "the desk was cleared");
    assert!(jwt.viewer().await.is_some(), "a signature needs no desk");
    assert_eq!(
        jwt.refresh_as_script().await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(jwt.devices().await.len(), 1);
    drop(app);
}

#[tokio::test]
async fn with_the_database_store_a_restart_signs_nobody_out() {
    let app = spawn_app().await;
    let session = app.signed_in_browser("sue").await;
    let jwt = app.browser();
    jwt.log_in_with("sue", "jwt").await;

    let app = app.restart().await;

    assert_eq!(session.viewer().await.unwrap().mode, Mode::Session);
    assert_eq!(jwt.viewer().await.unwrap().mode, Mode::Jwt);
    assert_eq!(session.devices().await.len(), 2);
    drop(app);
}

#[tokio::test]
async fn a_cookie_session_401_carries_no_bearer_challenge() {
    let app = spawn_app().await;
    let browser = app.signed_in_browser("kim").await;
    let ended = browser.session_cookie().unwrap();
    browser.log_out().await;

    // A session that has ended, and no credentials at all: a plain 401, nothing to refresh.
    let replay = get_with_session_cookie(&app, "/fn/devices", &ended).await;
    let anonymous = app.browser().get("/fn/devices").await;
    for response in [replay, anonymous] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers().get("www-authenticate").is_none(),
            "{:?}",
            response.headers()
        );
        assert_eq!(error_body(response).await["error"], "unauthenticated");
    }
    // The JSON API is protected by Bearer tokens: there the challenge says how to get in.
    let api = app.browser().get("/api/me").await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.headers()["www-authenticate"],
        "Bearer realm=\"ticketbooth\""
    );
}

/// Who the server at `base` recognises by the session cookie `cookie`, and how many queries
/// that took (`Server-Timing`; none for a request it did not recognise).
async fn recognised_at(base: &str, cookie: &str) -> (Option<String>, Option<u32>) {
    let response = reqwest::Client::new()
        .get(format!("{base}/fn/viewer"))
        .header("cookie", format!("tb_session={cookie}"))
        .send()
        .await
        .unwrap();
    let queries = response
        .headers()
        .contains_key("server-timing")
        .then(|| timing(&response).1);
    let viewer: Option<Viewer> = response.json().await.unwrap();
    (viewer.map(|viewer| viewer.username), queries)
}

#[tokio::test]
async fn a_session_every_server_on_the_database_keeps_dies_on_each_ones_next_request() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], crate::haproxy::free_port()));
    let process = first.process_on_the_same_database(&[], address).await;
    let bases = [
        first.base.clone(),
        second.base.clone(),
        format!("http://{}", process.addr),
    ];
    let killer = first.signed_in_browser("kit").await;
    let victims = [first.browser(), first.browser()];
    for victim in &victims {
        assert_redirects_to(&victim.log_in("kit", PASSWORD).await, "/dashboard");
    }
    let cookies = victims
        .each_ref()
        .map(|victim| victim.session_cookie().unwrap());

    // Each server reads each session once, then keeps it: on a file, its next request costs
    // no query (on PostgreSQL every request reads the row).
    for base in &bases {
        for cookie in &cookies {
            let (user, _) = recognised_at(base, cookie).await;
            assert_eq!(user.as_deref(), Some("kit"), "{base}");
            let (_, queries) = recognised_at(base, cookie).await;
            let expected = if on_postgres() { 1 } else { 0 };
            assert_eq!(queries, Some(expected), "{base}: the session was kept");
        }
    }

    // Killed on one server: no server lets it in again, not even once.
    let device = killer.other_device().await;
    assert_eq!(killer.kill(&device.id).await.status(), StatusCode::OK);
    let (killed, alive) = if victims[0].viewer().await.is_none() {
        (&cookies[0], &cookies[1])
    } else {
        (&cookies[1], &cookies[0])
    };
    for base in &bases {
        assert_eq!(recognised_at(base, killed).await, (None, None), "{base}");
        assert_eq!(recognised_at(base, alive).await.0.as_deref(), Some("kit"));
    }

    // Signed out through the process: the others refuse it at once too.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/auth/refresh/logout", bases[2]))
        .header("origin", &bases[2])
        .header("cookie", format!("tb_session={alive}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_redirects_to(&response, "/login");
    for base in &bases {
        assert_eq!(recognised_at(base, alive).await, (None, None), "{base}");
    }
    assert_eq!(killer.viewer().await.unwrap().username, "kit");
}
