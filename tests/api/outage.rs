//! The warehouse out of reach: what happens while the server cannot reach its PostgreSQL, and
//! that everything comes back by itself. The test puts a link of its own between the server
//! and the run's cluster and cuts it, as a stopped database or a lost network would: every
//! connection through it dies, and new ones are refused.

use std::{path::PathBuf, sync::Arc};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::{
    net::{TcpListener, UnixStream},
    sync::watch,
};

use crate::{helpers::*, postgres};

/// A TCP port that forwards to the cluster's Unix socket while it is open.
struct Link {
    port: u16,
    open: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    /// A link to the cluster `.ci/with-postgres` started (its URL names the socket's folder).
    async fn to_the_test_cluster() -> Link {
        let cluster = std::env::var(postgres::CLUSTER_URL).expect("run under .ci/with-postgres");
        let query = cluster
            .split_once('?')
            .map(|(_, query)| query)
            .unwrap_or("");
        let setting = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        let folder = setting("host").expect("the cluster's socket folder in its URL");
        let port = setting("port").unwrap_or_else(|| "5432".into());
        let socket = PathBuf::from(folder).join(format!(".s.PGSQL.{port}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, _) = watch::channel(true);
        let open = Arc::new(open);
        let task = tokio::spawn({
            let open = Arc::clone(&open);
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    let mut still_open = open.subscribe();
                    if !*still_open.borrow() {
                        continue; // refused: dropped at once
                    }
                    let socket = socket.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = UnixStream::connect(&socket).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = still_open.wait_for(|open| !open) => {}
                        }
                    });
                }
            }
        });
        Link { port, open, task }
    }

    /// A fresh database on the cluster, reached through this link.
    async fn database_url(&self) -> String {
        let direct = postgres::fresh_database_url().await;
        let name = direct
            .split_once('?')
            .map_or(direct.as_str(), |(address, _)| address)
            .rsplit_once('/')
            .map(|(_, name)| name.to_owned())
            .expect("a database name");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn mend(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// While the database is out of reach, a cookie-session request gets a 503 with `Retry-After`
/// and keeps its cookie (nobody is signed out), a JWT under `pure` is still recognised by its
/// signature alone, and `/readyz` says the database is down. Once the link is mended, the pool
/// reconnects by itself: the same cookie is recognised again, with no restart.
#[tokio::test]
async fn a_database_out_of_reach_answers_503_signs_nobody_out_and_comes_back_by_itself() {
    if !on_postgres() {
        eprintln!("PostgreSQL only: TEST_DATABASE=postgres runs it");
        return;
    }
    let link = Link::to_the_test_cluster().await;
    let url = link.database_url().await;
    let app = spawn_app_with(&[("DATABASE_URL", url.as_str())]).await;
    let session = app.signed_in_browser("ana").await;
    let jwt = app.browser();
    assert_redirects_to(&jwt.sign_up_with("bea", "jwt").await, "/dashboard");
    assert_eq!(readiness(&app).await.0, StatusCode::OK);

    link.cut();

    let call = session.get("/fn/viewer").await;
    assert_unavailable_keeping_the_cookie(&call);
    let signed_in = jwt.get("/fn/viewer").await;
    assert_eq!(
        signed_in.status(),
        StatusCode::OK,
        "a JWT needs no database"
    );
    assert_eq!(signed_in.json::<Value>().await.unwrap()["username"], "bea");
    let sign_in = app.browser().log_in("ana", PASSWORD).await;
    assert_eq!(sign_in.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["database"], false);

    link.mend();

    assert!(ready_again(&app).await, "/readyz recovered");
    assert_eq!(
        session.viewer().await.map(|viewer| viewer.username),
        Some("ana".to_owned()),
        "the same cookie, recognised again"
    );
}
