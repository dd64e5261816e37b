//! A fresh, empty PostgreSQL database for a test, on the throwaway cluster that
//! `.ci/with-postgres` starts for the whole run (`make test` runs every test under it) and
//! deletes afterwards. Used by the store suite (`src/auth/session/store.rs`) and the
//! integration tests.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection as _, Executor as _, PgConnection};

/// The cluster's superuser URL, set by `.ci/with-postgres`.
pub const CLUSTER_URL: &str = "TEST_POSTGRES_URL";

/// Whether this run has a cluster. (The integration tests ask for one only with
/// `TEST_DATABASE=postgres`, and then must have it.)
#[allow(dead_code)]
pub fn available() -> bool {
    std::env::var_os(CLUSTER_URL).is_some()
}

/// Creates a database of its own on the run's cluster and returns its URL; panics, saying how
/// to get a cluster, when there is none.
pub async fn fresh_database_url() -> String {
    static CREATED: AtomicU32 = AtomicU32::new(0);
    let cluster = std::env::var(CLUSTER_URL).unwrap_or_else(|_| {
        panic!("{CLUSTER_URL} is not set: run the tests under .ci/with-postgres (make test does)")
    });
    // Unique across the test binaries running at once on one cluster, and across this one's tests.
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        CREATED.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(&cluster)
        .await
        .expect("the test cluster answers");
    // A name made here of digits and letters: nothing to quote.
    admin
        .execute(format!("create database {name}").as_str())
        .await
        .expect("a fresh database");
    admin.close().await.ok();
    database_url(&cluster, &name)
}

/// `cluster` with its database name replaced by `name`.
fn database_url(cluster: &str, name: &str) -> String {
    let (address, query) = cluster.split_once('?').unwrap_or((cluster, ""));
    let (server, _database) = address.rsplit_once('/').expect("a database in the URL");
    format!("{server}/{name}?{query}")
}
