//! Thousands of generated requests at every route of a real server, as a careless or hostile
//! client would send them: random methods, paths, headers, cookies and bodies. Whatever comes
//! in, the server answers (no 5xx, no dropped connection), keeps answering, and a bystander's
//! rows in the database are exactly as they were.
//!
//! Deterministic: `FUZZ_SEED` (default below) and `FUZZ_REQUESTS` (default 5000) reproduce a run.
//!
//! A test binary of its own, so that its few thousand requests run beside nothing else. It found
//! the leptos route-list hang (`src/server/mod.rs`, `page_routes`): beside other suites' servers
//! starting in the same process, a page now and then got no answer at all.

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use reqwest::{Method, StatusCode, header::HeaderValue};
use ticketbooth::db::{FamilyRow, SessionRow, TokenRow};

#[path = "../support/postgres.rs"]
mod postgres;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::*;

const DEFAULT_SEED: u64 = 0x7ec4_e7b0_07b5;

const ROUTES: &[&str] = &[
    "/",
    "/login",
    "/signup",
    "/dashboard",
    "/devices",
    "/compare",
    "/playground",
    "/fn/signup",
    "/fn/login",
    "/fn/preferred_mode",
    "/fn/viewer",
    "/fn/switch_mode",
    "/fn/dashboard",
    "/fn/devices",
    "/fn/kill_device",
    "/fn/kill_other_devices",
    "/fn/kill_all_devices",
    "/fn/compare",
    "/fn/generate_load",
    "/fn/token_parts",
    "/fn/try_token",
    "/fn/try_preset",
    "/fn/try_session",
    "/auth/refresh",
    "/auth/refresh/logout",
    "/api/users",
    "/api/token",
    "/api/token/refresh",
    "/api/me",
    "/api/devices",
    "/api/logout",
    "/api/nothing",
    "/pkg/ticketbooth.css",
    "/no/such/page",
];

const FIELDS: &[&str] = &[
    "username",
    "password",
    "mode",
    "next",
    "id",
    "to",
    "requests",
    "preset",
    "probe",
    "header",
    "payload",
    "signature",
    "refresh_token",
];

/// Everything the database holds about one user, to compare before and after.
#[derive(Debug, PartialEq)]
struct Rows {
    user: (i64, String, String, String, i64),
    sessions: Vec<SessionRow>,
    families: Vec<FamilyRow>,
    tokens: Vec<Vec<TokenRow>>,
}

async fn rows_of(app: &TestApp, username: &str) -> Rows {
    let db = &app.server.state.db;
    let user = db.user_by_username(username).await.unwrap().unwrap();
    let now = app.clock.now();
    let sessions = db.live_sessions_of_user(user.id, now).await.unwrap();
    let families = db.visible_families_of_user(user.id, now).await.unwrap();
    let mut tokens = Vec::new();
    for family in &families {
        tokens.push(db.tokens_of_family(family.id).await.unwrap());
    }
    Rows {
        user: (
            user.id,
            user.username,
            user.password_hash,
            user.role,
            user.created_at,
        ),
        sessions,
        families,
        tokens,
    }
}

/// A string of `max` characters at most, from printable ASCII, other scripts, or anything.
fn text(rng: &mut StdRng, max: usize) -> String {
    let length = rng.gen_range(0..=max);
    match rng.gen_range(0..4) {
        0 => (0..length).map(|_| rng.gen_range(' '..='~')).collect(),
        1 => (0..length)
            .map(|_| rng.gen_range('\u{a0}'..='\u{2fff}'))
            .collect(),
        2 => [
            "", "jwt", "session", "admin", "../..", "%00", "{}", "[]", "null", "1000", "-1",
        ]
        .choose(rng)
        .unwrap()
        .to_string(),
        _ => (0..length)
            .map(|_| char::from(rng.gen_range(0u8..=127)))
            .collect(),
    }
}

/// Bytes a header value may carry (no CR, LF or NUL), up to `max`.
fn header_bytes(rng: &mut StdRng, max: usize) -> HeaderValue {
    let length = rng.gen_range(0..=max);
    let bytes: Vec<u8> = (0..length)
        .map(|_| match rng.gen_range(0..10) {
            0 => rng.gen_range(0x80u8..=0xff),
            _ => rng.gen_range(0x20u8..=0x7e),
        })
        .collect();
    HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| HeaderValue::from_static("x"))
}

#[tokio::test]
async fn thousands_of_generated_requests_get_answers_and_leave_a_bystander_untouched() {
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let requests: usize = std::env::var("FUZZ_REQUESTS")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(5_000);
    let app = spawn_app().await;

    // The bystander: signed in both ways, never touched by the fuzzer.
    let bystander = app.signed_in_browser("bystander").await;
    let bystander_tokens = api_token(&app, "bystander").await;
    let bystander_devices: Vec<String> = bystander
        .devices()
        .await
        .into_iter()
        .map(|d| d.id)
        .collect();
    let before = rows_of(&app, "bystander").await;

    // The fuzzer's own credentials, so that it reaches what signed-in users reach.
    let attacker = app.signed_in_browser("attacker").await;
    let attacker_session = attacker.session_cookie().unwrap();
    let attacker_jwt = app.browser();
    attacker_jwt.log_in_with("attacker", JWT).await;
    let attacker_cookies = attacker_jwt.cookies_for("/");
    let attacker_tokens = api_token(&app, "attacker").await;

    let mut rng = StdRng::seed_from_u64(seed);
    // An answer that does not come within this is a failure, not a hang.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();
    for n in 0..requests {
        let method = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD,
            Method::OPTIONS,
        ]
        .choose(&mut rng)
        .unwrap()
        .clone();
        let path = match rng.gen_range(0..10) {
            0 => format!(
                "/api/devices/{}",
                bystander_devices.choose(&mut rng).unwrap()
            ),
            1 => format!("/api/devices/{}", text(&mut rng, 40)),
            2 => format!("/{}", text(&mut rng, 30)),
            _ => ROUTES.choose(&mut rng).unwrap().to_string(),
        };
        let query = if rng.gen_bool(0.2) {
            format!(
                "?{}={}",
                FIELDS.choose(&mut rng).unwrap(),
                urlencode(&text(&mut rng, 30))
            )
        } else {
            String::new()
        };
        let Ok(url) = reqwest::Url::parse(&format!("{}{path}{query}", app.base)) else {
            continue;
        };
        let mut request = client.request(method.clone(), url);
        // Mostly from our own pages, so that the origin check lets it reach the handlers.
        request = match rng.gen_range(0..10) {
            0 => request.header("origin", "https://evil.example"),
            1 => request,
            _ => request.header("origin", &app.base),
        };
        let cookie = match rng.gen_range(0..8) {
            0 => Some(format!("tb_session={attacker_session}")),
            1 => Some(attacker_cookies.clone()),
            2 => Some(format!(
                "tb_session={}; tb_access={}; tb_refresh={}",
                text(&mut rng, 40),
                text(&mut rng, 400),
                text(&mut rng, 60)
            )),
            3 => Some(format!(
                "tb_session={attacker_session}; tb_session=x; tb_mode=jwt"
            )),
            _ => None,
        };
        if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            request = request.header("cookie", cookie);
        }
        request = match rng.gen_range(0..8) {
            0 => request.header(
                "authorization",
                format!("Bearer {}", attacker_tokens.access_token),
            ),
            1 => request.header("authorization", header_bytes(&mut rng, 300)),
            2 => request
                .header("authorization", "Bearer a")
                .header("authorization", "Bearer b"),
            _ => request,
        };
        if rng.gen_bool(0.3) {
            request = request.header("accept", "text/html");
        }
        if rng.gen_bool(0.1) {
            request = request.header("x-forwarded-for", header_bytes(&mut rng, 60));
        }
        if rng.gen_bool(0.1) {
            request = request.header("user-agent", header_bytes(&mut rng, 600));
        }
        request = match rng.gen_range(0..6) {
            0 => {
                let pairs: Vec<(String, String)> = (0..rng.gen_range(0..5))
                    .map(|_| {
                        (
                            FIELDS.choose(&mut rng).unwrap().to_string(),
                            text(&mut rng, 60),
                        )
                    })
                    .collect();
                request.form(&pairs)
            }
            1 => {
                let mut object = serde_json::Map::new();
                for _ in 0..rng.gen_range(0..4) {
                    let value = match rng.gen_range(0..4) {
                        0 => serde_json::json!(text(&mut rng, 60)),
                        1 => serde_json::json!(rng.r#gen::<i64>()),
                        2 => serde_json::json!([1, "two", null]),
                        _ => serde_json::json!({"nested": text(&mut rng, 10)}),
                    };
                    object.insert(FIELDS.choose(&mut rng).unwrap().to_string(), value);
                }
                request.json(&object)
            }
            2 => {
                let bytes: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.r#gen()).collect();
                let kind = [
                    "application/x-www-form-urlencoded",
                    "application/json",
                    "text/plain",
                ]
                .choose(&mut rng)
                .unwrap();
                request.header("content-type", *kind).body(bytes)
            }
            _ => request,
        };

        let response = request.send().await.unwrap_or_else(|error| {
            panic!("seed {seed}, request {n}: {method} {path}{query}: no answer: {error:?}")
        });
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "seed {seed}, request {n}: {method} {path}{query} got {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    // Still answering, still the same for the bystander.
    assert_eq!(app.browser().get("/login").await.status(), StatusCode::OK);
    assert_eq!(rows_of(&app, "bystander").await, before, "seed {seed}");
    assert_eq!(bystander.viewer().await.unwrap().username, "bystander");
    assert_eq!(
        me(&app, &bystander_tokens.access_token).await.status(),
        StatusCode::OK
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
