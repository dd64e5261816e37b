//! A real ticketbooth server on a random port, a fresh database, and browsers that keep cookies.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    sync::Arc,
};

use leptos::config::LeptosOptions;
use reqwest::{
    Client, Response, StatusCode,
    cookie::{CookieStore, Jar},
    header::{self, HeaderMap, HeaderValue},
    redirect::Policy,
};
use tempfile::TempDir;
use ticketbooth::{
    core::{
        clock::{self, Clock},
        config::Config,
    },
    model::{DeviceView, RecognitionReport, Viewer},
    server::{self, RunningServer},
};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub server: RunningServer,
    pub clock: Clock,
    data: Arc<TempDir>,
    env: HashMap<String, String>,
}

/// A browser: its own cookie jar, no automatic redirects, and the `Origin` our pages would send.
pub struct Browser {
    pub client: Client,
    pub jar: Arc<Jar>,
    base: String,
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
    mut env: HashMap<String, String>,
    clock: Clock,
    address: &str,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    env.entry("DATA_DIR".into())
        .or_insert_with(|| data.path().display().to_string());
    env.entry("PUBLIC_URL".into())
        .or_insert_with(|| base.clone());
    env.entry("HASH_CONCURRENCY".into())
        .or_insert_with(|| "2".into());
    let options = LeptosOptions::builder()
        .output_name("ticketbooth")
        .site_addr(addr)
        .build();
    let config = Config::from_lookup(options, |name| env.get(name).cloned()).unwrap();
    let server = server::start(config, clock.clone(), listener)
        .await
        .unwrap();
    TestApp {
        base,
        server,
        clock,
        data,
        env,
    }
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
        let jar = Arc::new(Jar::default());
        headers.insert(header::ORIGIN, HeaderValue::from_str(&self.base).unwrap());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .default_headers(headers)
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36")
            .local_address(ip)
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            base: self.base.clone(),
        }
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

    pub fn database_files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.data.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with("ticketbooth.db"))
            })
            .collect()
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
            &[("username", username), ("password", password)],
        )
        .await
    }

    pub async fn log_in(&self, username: &str, password: &str) -> Response {
        self.post_form(
            "/fn/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    pub async fn log_out(&self) -> Response {
        self.post_form("/fn/logout", &[]).await
    }

    /// Who the server thinks this browser is.
    pub async fn viewer(&self) -> Option<Viewer> {
        let response = self.get("/fn/viewer").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn devices(&self) -> Vec<DeviceView> {
        let response = self.get("/fn/devices").await;
        assert_eq!(response.status(), StatusCode::OK, "listing devices");
        response.json().await.unwrap()
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
