//! Every helper of the integration tests: a real ticketbooth server on a random port with a
//! fresh database, browsers that keep cookies, a script's JSON API client, and assertions.
//!
//! The database is a SQLite file in a fresh folder; with `TEST_DATABASE=postgres` (the second
//! pass of `make test`), a fresh database on the run's PostgreSQL cluster instead.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
    time::Duration,
};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use leptos::config::LeptosOptions;
use reqwest::{
    Client, Method, Response, StatusCode,
    cookie::{CookieStore, Jar},
    header::{self, HeaderMap, HeaderValue, RETRY_AFTER},
    redirect::Policy,
};
use serde_json::{Value, json};
use tempfile::TempDir;
use ticketbooth::{
    core::{
        clock::{self, Clock},
        config::Config,
    },
    model::{DeviceView, Mode, RecognitionReport, Viewer},
    server::{self, RunningServer},
};

pub const PASSWORD: &str = "correct horse battery staple";

/// Whether this run's servers keep their data in PostgreSQL (`TEST_DATABASE=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TEST_DATABASE={other:?}: sqlite or postgres"),
    }
}

/// The `SESSION_STORE` that keeps sessions in this run's database.
pub fn database_store() -> &'static str {
    if on_postgres() { "postgres" } else { "sqlite" }
}

/// Makes `name` an administrator, as `ticketbooth make-admin NAME` does.
pub async fn make_admin(app: &TestApp, name: &str) {
    let made = ticketbooth::auth::admin::make_admin(&app.server.state.db, name, app.clock.now());
    assert!(made.await.unwrap(), "no account {name}");
}

/// Every answer comes well within this, or the test fails: a request the server never answers
/// is a bug to report, not a suite that waits until CI gives up.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

pub struct TestApp {
    pub base: String,
    pub server: RunningServer,
    pub clock: Clock,
    data: Arc<TempDir>,
    env: HashMap<String, String>,
}

/// A browser: its own cookie jar, no automatic redirects, and the `Origin` our pages would send.
/// A clone is another tab of it: the same cookie jar.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
    base: String,
}

fn browser_at_base(base: &str, ip: IpAddr, headers: HeaderMap) -> Browser {
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .default_headers(headers)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36")
        .local_address(ip)
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap();
    Browser {
        client,
        jar,
        base: base.to_owned(),
    }
}

/// A browser that reaches the servers through a load balancer's door at `base` (the servers
/// know their own addresses, not the door's): it says where its requests come from as
/// Chromium does, with `Sec-Fetch-Site`.
pub fn browser_through(base: &str) -> Browser {
    browser_through_claiming(base, Ipv4Addr::LOCALHOST.into(), &[])
}

/// [`browser_through`] from `ip`, sending `headers` of its own with every request.
pub fn browser_through_claiming(base: &str, ip: IpAddr, headers: &[(&str, &str)]) -> Browser {
    let mut map = HeaderMap::new();
    map.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    for (name, value) in headers {
        map.insert(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    browser_at_base(base, ip, map)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with extra environment settings (e.g. `("PUBLIC_URL", "https://...")`).
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    let data = Arc::new(tempfile::tempdir().expect("a temporary directory"));
    let env = settings
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    // Time stands still unless a test moves it, so no test depends on how fast it runs.
    start(
        data,
        env,
        Clock::frozen_at(clock::system_now()),
        "127.0.0.1:0",
    )
    .await
}

async fn start(
    data: Arc<TempDir>,
    env: HashMap<String, String>,
    clock: Clock,
    address: &str,
) -> TestApp {
    try_start(data, env, clock, address).await.unwrap()
}

/// [`start`], returning why the server did not start instead of failing the test.
async fn try_start(
    data: Arc<TempDir>,
    mut env: HashMap<String, String>,
    clock: Clock,
    address: &str,
) -> Result<TestApp, String> {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    env.entry("DATA_DIR".into())
        .or_insert_with(|| data.path().display().to_string());
    env.entry("PUBLIC_URL".into())
        .or_insert_with(|| base.clone());
    env.entry("HASH_CONCURRENCY".into())
        .or_insert_with(|| "2".into());
    if on_postgres() && !env.contains_key("DATABASE_URL") {
        // Kept in `env`: a restart or another instance opens the same database.
        let url = crate::postgres::fresh_database_url().await;
        env.insert("DATABASE_URL".into(), url);
    }
    let options = LeptosOptions::builder()
        .output_name("ticketbooth")
        .site_addr(addr)
        .build();
    let config = Config::from_lookup(options, |name| env.get(name).cloned()).unwrap();
    let server = server::start(config, clock.clone(), listener)
        .await
        .map_err(|error| error.to_string())?;
    Ok(TestApp {
        base,
        server,
        clock,
        data,
        env,
    })
}

impl TestApp {
    pub fn browser(&self) -> Browser {
        self.browser_at(Ipv4Addr::LOCALHOST.into())
    }

    /// A browser on another host of the loopback network (any of 127.0.0.0/8): the server sees
    /// its requests come from `ip`.
    pub fn browser_at(&self, ip: IpAddr) -> Browser {
        self.browser_with(ip, HeaderMap::new())
    }

    /// A browser behind a proxy on 127.0.0.1 that sends `X-Forwarded-For: forwarded_for`.
    pub fn browser_behind_proxy(&self, forwarded_for: &str) -> Browser {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(forwarded_for).unwrap(),
        );
        self.browser_with(Ipv4Addr::LOCALHOST.into(), headers)
    }

    fn browser_with(&self, ip: IpAddr, mut headers: HeaderMap) -> Browser {
        headers.insert(header::ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        browser_at_base(&self.base, ip, headers)
    }

    /// A browser with a fresh account, signed in.
    pub async fn signed_in_browser(&self, username: &str) -> Browser {
        let browser = self.browser();
        let response = browser.sign_up(username, PASSWORD).await;
        assert_redirects_to(&response, "/dashboard");
        browser
    }

    /// Stops this server and starts a new one on the same address, data folder and settings.
    pub async fn restart(self) -> TestApp {
        let TestApp {
            server,
            data,
            env,
            clock,
            ..
        } = self;
        let address = server.addr.to_string();
        server.stop().await;
        start(data, env, clock, &address).await
    }

    /// A second instance, as behind one load balancer: another port, the same data folder (the
    /// SQLite file, the signing keys), settings (the same `PUBLIC_URL`) and clock.
    pub async fn another_instance(&self) -> TestApp {
        start(
            Arc::clone(&self.data),
            self.env.clone(),
            self.clock.clone(),
            "127.0.0.1:0",
        )
        .await
    }

    /// A second instance on the same database but with a data folder of its own (no shared key
    /// file), some settings changed: what two servers of one database share is only what the
    /// database holds. `Err` says why it did not start.
    pub async fn try_instance_on_the_same_database(
        &self,
        settings: &[(&str, &str)],
    ) -> Result<TestApp, String> {
        let (env, own) = self.settings_on_the_same_database(settings);
        try_start(own, env, self.clock.clone(), "127.0.0.1:0").await
    }

    /// The settings of another instance on this one's database, with a data folder of its own.
    fn settings_on_the_same_database(
        &self,
        settings: &[(&str, &str)],
    ) -> (HashMap<String, String>, Arc<TempDir>) {
        let mut env = self.env.clone();
        env.entry("DATABASE_URL".into()).or_insert_with(|| {
            format!(
                "sqlite://{}",
                self.data.path().join("ticketbooth.db").display()
            )
        });
        let own = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        env.insert("DATA_DIR".into(), own.path().display().to_string());
        // Its own address, unless `settings` put both behind one.
        env.remove("PUBLIC_URL");
        for (key, value) in settings {
            env.insert(key.to_string(), value.to_string());
        }
        (env, own)
    }

    /// Another instance on the same database, as [`Self::try_instance_on_the_same_database`],
    /// but running as a process of its own (the built `ticketbooth` binary, with the system's
    /// clock) on `address`: one that a test can end as `kill -9` does.
    pub async fn process_on_the_same_database(
        &self,
        settings: &[(&str, &str)],
        address: std::net::SocketAddr,
    ) -> ServerProcess {
        let (mut env, own) = self.settings_on_the_same_database(settings);
        env.insert("LEPTOS_SITE_ADDR".into(), address.to_string());
        env.entry("RUST_LOG".into())
            .or_insert_with(|| "warn".into());
        ServerProcess::start(env, own, address).await
    }

    /// This server's data folder.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    /// [`Self::restart`] with some settings changed.
    pub async fn restart_with(mut self, settings: &[(&str, &str)]) -> TestApp {
        for (key, value) in settings {
            self.env.insert(key.to_string(), value.to_string());
        }
        self.restart().await
    }

    /// A second browser holding a copy of every cookie of `browser`: a stolen or replayed
    /// cookie jar.
    pub fn browser_holding_the_cookies_of(&self, browser: &Browser) -> Browser {
        let copy = self.browser();
        for path in ["/", "/auth/refresh"] {
            let url = copy.url(path).parse().unwrap();
            for pair in browser
                .cookies_for(path)
                .split("; ")
                .filter(|p| !p.is_empty())
            {
                copy.jar
                    .add_cookie_str(&format!("{pair}; Path={path}"), &url);
            }
        }
        copy
    }

    /// The URL of this server's PostgreSQL database (`None` on SQLite).
    pub fn postgres_url(&self) -> Option<&str> {
        // Another instance on the same SQLite file has its URL in `env` too.
        self.env
            .get("DATABASE_URL")
            .map(String::as_str)
            .filter(|url| url.starts_with("postgres"))
    }

    /// Everything the database holds, as bytes to search: the SQLite files (the database and
    /// its write-ahead log), or a data dump of the PostgreSQL database (`pg_dump`) followed by
    /// its `bytea` values decoded from the dump's hex.
    pub fn stored_data(&self) -> Vec<u8> {
        if let Some(url) = self.postgres_url() {
            let dump = std::process::Command::new("pg_dump")
                .args(["--data-only", "--dbname", url])
                .output()
                .expect("pg_dump (Debian's postgresql-client)");
            assert!(dump.status.success(), "{dump:?}");
            let text = String::from_utf8(dump.stdout).unwrap();
            let mut stored = text.clone().into_bytes();
            for field in text.split(['\t', '\n']) {
                if let Some(hex) = field.strip_prefix("\\\\x") {
                    stored.extend(
                        (0..hex.len() / 2)
                            .map(|at| u8::from_str_radix(&hex[2 * at..2 * at + 2], 16).unwrap()),
                    );
                }
            }
            return stored;
        }
        let mut stored = Vec::new();
        for entry in std::fs::read_dir(self.data.path()).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("ticketbooth.db"))
            {
                stored.extend(std::fs::read(path).unwrap());
            }
        }
        assert!(!stored.is_empty());
        stored
    }

    pub fn hashes_run(&self) -> u64 {
        self.server.state.auth.passwords().hashes_run()
    }

    pub async fn user_count(&self) -> i64 {
        self.server.state.db.count_users().await.unwrap()
    }
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A form posted by a browser without JavaScript, from the page `referer`.
    pub async fn post_form_without_javascript(
        &self,
        path: &str,
        referer: &str,
        form: &[(&str, &str)],
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("accept", "text/html")
            .header("referer", self.url(referer))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> Response {
        self.post_form(
            "/fn/signup",
            &[
                ("username", username),
                ("password", password),
                ("remember", "on"),
            ],
        )
        .await
    }

    pub async fn log_in(&self, username: &str, password: &str) -> Response {
        self.post_form(
            "/fn/login",
            &[
                ("username", username),
                ("password", password),
                ("remember", "on"),
            ],
        )
        .await
    }

    pub async fn log_out(&self) -> Response {
        self.post_form("/auth/refresh/logout", &[]).await
    }

    /// Who the server thinks this browser is.
    pub async fn viewer(&self) -> Option<Viewer> {
        let response = self.get("/fn/viewer").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Who the server thinks this browser is, renewing an expired access token first as the
    /// browser's server-function client does: a 401 with a challenge, one refresh, one retry.
    pub async fn viewer_after_renewal(&self) -> Option<Viewer> {
        let response = self.get("/fn/viewer").await;
        if response.status() == StatusCode::UNAUTHORIZED
            && response.headers().contains_key("www-authenticate")
        {
            if self.refresh_as_script().await.status() != StatusCode::NO_CONTENT {
                return None;
            }
            return self.viewer().await;
        }
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn devices(&self) -> Vec<DeviceView> {
        let response = self.get("/fn/devices").await;
        assert_eq!(response.status(), StatusCode::OK, "listing devices");
        response.json().await.unwrap()
    }

    /// The first of this user's devices that is not this browser.
    pub async fn other_device(&self) -> DeviceView {
        self.devices()
            .await
            .into_iter()
            .find(|device| !device.is_current)
            .expect("another device")
    }

    pub async fn dashboard(&self) -> RecognitionReport {
        let response = self.get("/fn/dashboard").await;
        assert_eq!(response.status(), StatusCode::OK, "dashboard");
        response.json().await.unwrap()
    }

    pub async fn kill(&self, device_id: &str) -> Response {
        self.post_form("/fn/kill_device", &[("id", device_id)])
            .await
    }

    /// The value of the session cookie this browser holds, if any.
    pub fn session_cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|pair| pair.strip_prefix("tb_session="))
            .map(str::to_owned)
    }
}

/// A browser-less client presenting `cookie` as its session cookie (a stolen or replayed one).
pub async fn get_with_session_cookie(app: &TestApp, path: &str, cookie: &str) -> Response {
    Client::builder()
        .redirect(Policy::none())
        .timeout(ANSWER_WITHIN)
        .build()
        .unwrap()
        .get(format!("{}{path}", app.base))
        .header(header::COOKIE, format!("tb_session={cookie}"))
        .send()
        .await
        .unwrap()
}

/// Passes for an HTTP redirect to `location`, and for a server function's redirect (which
/// answers JavaScript callers with a `serverfnredirect` header instead of a 3xx).
pub fn assert_redirects_to(response: &Response, location: &str) {
    let status = response.status();
    let by_server_fn =
        status == StatusCode::OK && response.headers().contains_key("serverfnredirect");
    assert!(
        status.is_redirection() || by_server_fn,
        "expected a redirect to {location}, got {status}"
    );
    assert_eq!(
        response
            .headers()
            .get(header::LOCATION)
            .map(|value| value.to_str().unwrap()),
        Some(location)
    );
}

/// The `Set-Cookie` headers of a response that name the session cookie.
pub fn session_set_cookies(response: &Response) -> Vec<String> {
    set_cookies_named(response, "tb_session")
}

/// The `Set-Cookie` headers of a response for the cookie `name`.
pub fn set_cookies_named(response: &Response, name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .filter(|value| value.starts_with(&prefix))
        .collect()
}

/// The JSON body of an error response.
pub async fn error_body(response: Response) -> serde_json::Value {
    response.json().await.unwrap()
}

// The JSON API, as a script uses it.

/// The signing secret the test server is given, so that tests can forge well-signed tokens.
pub const SECRET: [u8; 32] = [42; 32];

pub async fn jwt_app(extra: &[(&str, &str)]) -> TestApp {
    let secret = STANDARD.encode(SECRET);
    let mut settings = vec![("JWT_SECRET", secret.as_str())];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

pub fn api() -> Client {
    Client::builder().timeout(ANSWER_WITHIN).build().unwrap()
}

/// Creates an account and gets a first token pair for it.
pub async fn api_user(app: &TestApp, username: &str) -> Tokens {
    let created = api()
        .post(format!("{}/api/users", app.base))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    api_token(app, username).await
}

pub async fn api_token(app: &TestApp, username: &str) -> Tokens {
    let response = api()
        .post(format!("{}/api/token", app.base))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub async fn with_bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> Response {
    api()
        .request(method, format!("{}{path}", app.base))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
}

pub async fn me(app: &TestApp, token: &str) -> Response {
    with_bearer(app, reqwest::Method::GET, "/api/me", token).await
}

pub async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    api()
        .post(format!("{}/api/token/refresh", app.base))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap()
}

/// The refresh family an access token names, and its tokens, oldest first.
pub async fn family_and_tokens(
    app: &TestApp,
    access_token: &str,
) -> (ticketbooth::db::FamilyRow, Vec<ticketbooth::db::TokenRow>) {
    let sid = part(access_token, 1)["sid"].as_str().unwrap().to_owned();
    let db = &app.server.state.db;
    let family = db.family(&sid).await.unwrap().unwrap();
    let tokens = db.tokens_of_family(family.id).await.unwrap();
    (family, tokens)
}

pub async fn devices(app: &TestApp, token: &str) -> Vec<DeviceView> {
    let response = with_bearer(app, reqwest::Method::GET, "/api/devices", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub fn part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token signed with `SECRET` under `alg`, with the given header fields and claims.
pub fn forge(alg: Algorithm, header_of: &Value, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.typ = header_of["typ"].as_str().map(String::from);
    header.kid = header_of["kid"].as_str().map(String::from);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&SECRET)).unwrap()
}

/// Asserts a 401 whose challenge is `invalid_token` and whose description says `why`.
pub async fn assert_refused(response: Response, why: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"ticketbooth\""),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains(why), "expected {why:?} in {reason:?}");
}

pub const JWT: &str = "jwt";

impl Browser {
    /// Signs up with the mode given (as the login form's radio button would).
    pub async fn sign_up_with(&self, username: &str, mode: &str) -> reqwest::Response {
        self.post_form(
            "/fn/signup",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("mode", mode),
                ("remember", "on"),
            ],
        )
        .await
    }

    pub async fn log_in_with(&self, username: &str, mode: &str) -> reqwest::Response {
        self.post_form(
            "/fn/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("mode", mode),
                ("remember", "on"),
            ],
        )
        .await
    }

    /// The cookies this browser would send to `path`.
    pub fn cookies_for(&self, path: &str) -> String {
        self.jar
            .cookies(&self.url(path).parse().unwrap())
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// What the refresh page does: post to /auth/refresh as a form, asking for a page.
    pub async fn refresh_as_page(&self, next: &str) -> reqwest::Response {
        self.client
            .post(self.url("/auth/refresh"))
            .header("accept", "text/html")
            .form(&[("next", next)])
            .send()
            .await
            .unwrap()
    }

    /// What the server-function client does after a 401.
    pub async fn refresh_as_script(&self) -> reqwest::Response {
        self.client
            .post(self.url("/auth/refresh"))
            .send()
            .await
            .unwrap()
    }

    pub async fn switch_to(&self, mode: &str) -> reqwest::Response {
        self.post_form("/fn/switch_mode", &[("to", mode)]).await
    }
}

/// A page load as a browser makes it.
pub async fn load_page(browser: &Browser, path: &str) -> reqwest::Response {
    browser
        .client
        .get(browser.url(path))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
}

pub async fn preferred(browser: &Browser) -> Mode {
    browser
        .get("/fn/preferred_mode")
        .await
        .json()
        .await
        .unwrap()
}

/// The `Server-Timing` of a recognised request: its column, queries and credential bytes.
pub fn timing(response: &Response) -> (String, u32, usize, f64) {
    let header = response
        .headers()
        .get("server-timing")
        .expect("a recognised request is timed")
        .to_str()
        .unwrap();
    let duration: f64 = header
        .split(";dur=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .parse()
        .unwrap();
    let desc = header
        .split("desc=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let (column, rest) = desc.split_once(": ").unwrap();
    let mut numbers = rest
        .split(' ')
        .filter_map(|word| word.parse::<usize>().ok());
    let queries = numbers.next().unwrap() as u32;
    let bytes = numbers.next().unwrap();
    (column.to_owned(), queries, bytes, duration)
}

pub fn device_of(tokens: &Tokens) -> String {
    let payload = tokens.access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

pub async fn kill(app: &TestApp, killer: &Tokens, device: &str) {
    let response = with_bearer(
        app,
        Method::DELETE,
        &format!("/api/devices/{device}"),
        &killer.access_token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

pub async fn try_preset(browser: &Browser, preset: &str) -> Response {
    browser
        .post_form("/fn/try_preset", &[("preset", preset)])
        .await
}

pub fn host(last: u8) -> IpAddr {
    Ipv4Addr::new(127, 0, 0, last).into()
}

pub fn retry_after(response: &Response) -> i64 {
    response
        .headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Fails `times` sign-ins as `username` from `browser`, each a plain wrong password.
pub async fn fail(browser: &Browser, username: &str, times: usize) {
    for n in 0..times {
        let response = browser.log_in(username, &format!("wrong guess {n}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }
}

/// What `/readyz` says: its status and its account of each part.
pub async fn readiness(app: &TestApp) -> (StatusCode, serde_json::Value) {
    let response = app.browser().get("/readyz").await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// Asks `/readyz` until it answers 200, at most 20 times: a store's client reconnects by
/// itself, and the first calls after an outage may still meet a broken connection and start
/// the reconnection. Whether it came back.
pub async fn ready_again(app: &TestApp) -> bool {
    for _ in 0..20 {
        if readiness(app).await.0 == StatusCode::OK {
            return true;
        }
    }
    false
}

/// A store out of reach, as a request that needed it is answered: 503, try again in 5 seconds,
/// and the session cookie kept (nobody is signed out).
pub fn assert_unavailable_keeping_the_cookie(response: &Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(response), 5);
    assert!(
        session_set_cookies(response).is_empty(),
        "the cookie is kept: nobody is signed out"
    );
}

/// A ticketbooth server in a process of its own, killed (SIGKILL) when dropped.
pub struct ServerProcess {
    process: std::process::Child,
    env: HashMap<String, String>,
    data: Arc<TempDir>,
    pub addr: std::net::SocketAddr,
}

impl ServerProcess {
    async fn start(
        env: HashMap<String, String>,
        data: Arc<TempDir>,
        addr: std::net::SocketAddr,
    ) -> ServerProcess {
        let server = ServerProcess {
            process: spawn_server_process(&env, &data),
            env,
            data,
            addr,
        };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        let ready = format!("http://{}/readyz", self.addr);
        let started = std::time::Instant::now();
        loop {
            if let Ok(response) = reqwest::get(&ready).await
                && response.status() == StatusCode::OK
            {
                return;
            }
            assert!(
                started.elapsed() < ANSWER_WITHIN,
                "the server process did not become ready: {}",
                std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ends the process at once, as `kill -9` does: no draining, requests in flight cut.
    pub fn kill(&mut self) {
        self.process.kill().expect("SIGKILL sent");
        self.process.wait().expect("the killed process collected");
    }

    /// Starts the (killed) process again, on the same address with the same settings.
    pub async fn start_again(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        self.process = spawn_server_process(&self.env, &self.data);
        self.wait_until_ready().await;
    }
}

fn spawn_server_process(env: &HashMap<String, String>, data: &TempDir) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.path().join("server.log"))
        .expect("a log file");
    std::process::Command::new(env!("CARGO_BIN_EXE_ticketbooth"))
        // The Leptos settings come from Cargo.toml, as for a binary started by hand.
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the ticketbooth binary starts")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
