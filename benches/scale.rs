//! Does a store slow down as it fills? Each cookie-session store at 1 000 sessions, then at
//! 1 000 000 (100 000 users with 10 sessions each): what reading one session (every request's
//! lookup) and listing a user's sessions (the devices page) cost at both sizes, how long seeding
//! took, and what the memory store spends per session (the articles' "the desk fills up").
//! Then the JWT mode's refresh tokens in each database at 1 000 and 1 000 000: the
//! `session-check` read every request makes, the devices page's listing, and a refresh (a
//! rotation, a write).
//!
//! Redis is a `redis-server` this bench starts; PostgreSQL is measured when the bench runs under
//! `.ci/with-postgres` (as `make bench-scale` runs it), which starts a throwaway cluster.
//!
//! ```sh
//! make bench-scale                            # 1 000 000 sessions
//! BENCH_SESSIONS=100000 make bench-scale      # a quicker look
//! ```

// The server's own allocator, so that the memory store's resident bytes are what a server
// would hold.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Shared with the tests, which also restart it; this bench only starts it.
#[allow(dead_code)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future::join_all;
use redis_server::RedisServer;
use sqlx::{Connection as _, Executor as _, PgConnection};
use ticketbooth::{
    auth::session::{
        memory::MemorySessionStore,
        redis::RedisSessionStore,
        sql::SqlSessionStore,
        state::{SessionState, hash_session_id},
        store::SessionBackend,
    },
    core::{clock::Clock, ids::sha256},
    db::{Db, NewFamily, Rotation, RotationOutcome},
    inspect::floors::median_micros,
    model::{Lifetime, Lifetimes},
};
use tower_sessions::session::Id;

const PER_USER: i64 = 10;
const SMALL: i64 = 1_000;

fn setting(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process, in bytes (Linux).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Runs `task(n)` for every `n` in `from..to`, 256 at a time; returns what each returned, in order.
async fn in_batches<T, F, Fut>(from: i64, to: i64, task: F) -> Vec<T>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut done = Vec::with_capacity((to - from).max(0) as usize);
    let mut index = from;
    while index < to {
        let end = to.min(index + 256);
        done.extend(join_all((index..end).map(&task)).await);
        index = end;
    }
    done
}

/// Creates sessions `from..to` (user = index / 10), 256 at a time; returns the ID of each
/// user's first session among them.
async fn seed(store: &Arc<dyn SessionBackend>, from: i64, to: i64, now: i64) -> Vec<Id> {
    let created = in_batches(from, to, |n| {
        let store = Arc::clone(store);
        async move {
            let state = SessionState {
                user_id: n / PER_USER + 1,
                username: format!("user{}", n / PER_USER + 1),
                role: "user".into(),
                device_id: format!("device{n}"),
                device: "Firefox 130 on Linux".into(),
                ip: "127.0.0.1".into(),
                signed_in_at: now,
                last_seen_at: now - n % 600,
                remembered: true,
            };
            let mut record = state
                .into_record(Id::default(), now + 86_400)
                .expect("a record");
            store.create(&mut record).await.expect("stored");
            (n, record.id)
        }
    })
    .await;
    created
        .into_iter()
        .filter(|(n, _)| n % PER_USER == 0)
        .map(|(_, id)| id)
        .collect()
}

/// A database with the users that the sessions and families belong to.
struct Database {
    name: &'static str,
    db: Db,
    users_took: Duration,
    /// Set for PostgreSQL.
    postgres_url: Option<String>,
}

impl Database {
    /// Opens the database at `url` and seeds the users of `total` sessions or families.
    async fn seeded(name: &'static str, url: String, total: i64, now: i64) -> Database {
        let db = Db::open(&url).await.expect("the database");
        let started = Instant::now();
        in_batches(1, total / PER_USER + 2, |n| {
            let db = db.clone();
            async move {
                db.insert_user(&format!("user{n}"), "$argon2id$not-a-real-hash", now)
                    .await
                    .expect("a user")
                    .expect("a new user");
            }
        })
        .await;
        Database {
            name,
            users_took: started.elapsed(),
            postgres_url: url.starts_with("postgres").then_some(url),
            db,
        }
    }

    /// After a bulk insert, what PostgreSQL's autovacuum does within a minute or so on its
    /// own: new statistics (`ANALYZE`), which also retire the plans each connection cached
    /// for the small table. Without them, the plan cached at 1 000 rows keeps combining the
    /// user's index with the expiry index, and reads every live row's expiry: O(rows).
    async fn settle(&self) {
        if let Some(url) = &self.postgres_url {
            let mut connection = PgConnection::connect(url).await.expect("PostgreSQL");
            connection.execute("analyze").await.expect("analyze");
        }
    }
}

/// A session store, its name, its database (for the SQL stores) and where its bytes are counted.
type StoreUnderTest<'a> = (
    &'static str,
    Arc<dyn SessionBackend>,
    Option<&'a Database>,
    Footprint,
);

/// Where a store's bytes are counted, before and after seeding.
enum Footprint {
    /// This process's resident memory.
    Resident,
    /// The database's files.
    Files(Vec<std::path::PathBuf>),
    /// The sessions table, its indexes and its TOAST table.
    PostgresSessions(String),
    /// Redis's `used_memory`.
    Redis(String),
}

impl Footprint {
    async fn bytes(&self) -> u64 {
        match self {
            Footprint::Resident => resident_bytes(),
            Footprint::Files(files) => files
                .iter()
                .filter_map(|file| std::fs::metadata(file).ok())
                .map(|metadata| metadata.len())
                .sum(),
            Footprint::PostgresSessions(url) => {
                let mut connection = PgConnection::connect(url).await.expect("PostgreSQL");
                let bytes: i64 = sqlx::query_scalar("select pg_total_relation_size('sessions')")
                    .fetch_one(&mut connection)
                    .await
                    .expect("the table's size");
                bytes.unsigned_abs()
            }
            Footprint::Redis(url) => {
                let client = redis::Client::open(url.as_str()).expect("a Redis URL");
                let mut connection = client
                    .get_multiplexed_async_connection()
                    .await
                    .expect("Redis");
                let info: String = redis::cmd("INFO")
                    .arg("memory")
                    .query_async(&mut connection)
                    .await
                    .expect("INFO");
                info.lines()
                    .find_map(|line| line.strip_prefix("used_memory:"))
                    .and_then(|bytes| bytes.trim().parse().ok())
                    .expect("used_memory")
            }
        }
    }
}

struct Measured {
    read: f64,
    list: f64,
}

async fn measure(store: &Arc<dyn SessionBackend>, id: &Id, user_id: i64) -> Measured {
    let hash = hash_session_id(id);
    median_micros(1, 300, || store.load(id)).await;
    let read = median_micros(9, 1000, || store.load(id)).await;
    let list = median_micros(9, 300, || store.live_sessions_of_user(user_id)).await;
    assert!(store.live_session(&hash).await.expect("read").is_some());
    Measured { read, list }
}

#[tokio::main]
async fn main() {
    let total = setting("BENCH_SESSIONS", 1_000_000).max(SMALL * 2);
    let clock = Clock::default();
    let now = clock.now();
    let redis = RedisServer::start();
    let data = tempfile::tempdir().expect("a temporary folder");
    // Each SQL store's sessions belong to users that exist.
    let sqlite_url = format!("sqlite://{}", data.path().join("scale.db").display());
    let mut databases = vec![Database::seeded("SQLite", sqlite_url, total, now).await];
    if postgres::available() {
        let url = postgres::fresh_database_url().await;
        databases.push(Database::seeded("PostgreSQL", url, total, now).await);
    } else {
        println!("(no PostgreSQL: run under .ci/with-postgres, as make bench-scale does)");
    }

    let memory = Arc::new(MemorySessionStore::new(clock.clone()));
    let mut stores: Vec<StoreUnderTest> =
        vec![("memory", memory.clone(), None, Footprint::Resident)];
    for database in &databases {
        let store = SqlSessionStore::new(database.db.clone(), clock.clone());
        let footprint = match &database.postgres_url {
            Some(url) => Footprint::PostgresSessions(url.clone()),
            None => Footprint::Files(vec![
                data.path().join("scale.db"),
                data.path().join("scale.db-wal"),
            ]),
        };
        stores.push((database.name, Arc::new(store), Some(database), footprint));
    }
    stores.push((
        "Redis",
        Arc::new(RedisSessionStore::open(&redis.url(), clock.clone()).expect("Redis")),
        None,
        Footprint::Redis(redis.url()),
    ));
    println!(
        "\n{total} sessions ({} users × {PER_USER})",
        total / PER_USER
    );
    for database in &databases {
        println!(
            "users seeded in {} in {:.1?}",
            database.name, database.users_took
        );
    }
    println!(
        "\n| store | read one, at 1 000 | at {total} | × | list a user's 10, at 1 000 | at {total} | × | seeding {total} | bytes per session | as the store counts itself |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, store, database, footprint) in &stores {
        let empty = footprint.bytes().await;
        let firsts = seed(store, 0, SMALL, now).await;
        let small = measure(store, &firsts[0], 1).await;
        let started = Instant::now();
        seed(store, SMALL, total, now).await;
        let seeding: Duration = started.elapsed();
        if let Some(database) = database {
            database.settle().await;
        }
        let per_session = footprint.bytes().await.saturating_sub(empty) as f64 / total as f64;
        let large = measure(store, &firsts[0], 1).await;
        let counted = store
            .footprint()
            .await
            .expect("its footprint")
            .bytes_per_session;
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.2} | {:.1} µs | {:.1} µs | {:.2} | {:.0?} | {per_session:.0} | {counted} |",
            small.read,
            large.read,
            large.read / small.read,
            small.list,
            large.list,
            large.list / small.list,
            seeding
        );
    }
    println!(
        "\nbytes per session: the memory store's resident memory, the SQLite file (and its \
         write-ahead log), the PostgreSQL table with its indexes, Redis's used memory; then what \
         the store counts itself, as /compare shows it (memory: an estimate of what the \
         allocator holds; SQLite: the bytes in use in its pages; Redis: MEMORY USAGE of a \
         sample)"
    );
    for database in &databases {
        refresh_tokens(database, total, now).await;
    }
}

/// A family of user `n / 10 + 1` with its first token `tbr_<n>`.
async fn insert_family(db: &Db, n: i64, now: i64) {
    let token_hash = sha256(format!("tbr_{n}").as_bytes());
    db.insert_family(&NewFamily {
        public_id: &format!("family{n}"),
        user_id: n / PER_USER + 1,
        device: "Firefox 130 on Linux",
        ip: "127.0.0.1",
        now,
        token_hash: &token_hash,
        token_expires_at: now + 86_400,
        access_jti: &format!("jti{n}"),
        access_expires_at: now + 300,
        remembered: true,
    })
    .await
    .expect("a family");
}

/// The refresh tokens' table of `database` at 1 000 families and at `total`.
async fn refresh_tokens(database: &Database, total: i64, now: i64) {
    let (name, db) = (database.name, &database.db);
    // Families set aside to be refreshed, one rotation each, at each size.
    const ROTATED: i64 = 400;
    let rotate = |from: i64| {
        let db = db.clone();
        async move {
            let started = Instant::now();
            for n in from..from + ROTATED / 2 {
                let outcome = db
                    .rotate_refresh_token(&Rotation {
                        presented_hash: &sha256(format!("tbr_{n}").as_bytes()),
                        new_hash: &sha256(format!("tbr_{n}_next").as_bytes()),
                        access_jti: &format!("jti{n}_next"),
                        ip: "127.0.0.1",
                        now,
                        grace: 10,
                        lifetimes: LIFETIMES,
                        access_ttl: 300,
                        max_per_minute: 20,
                        kept_per_family: 24,
                    })
                    .await
                    .expect("a rotation");
                assert!(
                    matches!(outcome, RotationOutcome::Rotated { .. }),
                    "{outcome:?}"
                );
            }
            started.elapsed().as_secs_f64() * 1e6 / (ROTATED / 2) as f64
        }
    };
    let measure = || async {
        let live = median_micros(9, 1000, || db.family_is_live("family0", now)).await;
        let list = median_micros(9, 300, || db.visible_families_of_user(1, now)).await;
        (live, list)
    };
    in_batches(0, SMALL, |n| insert_family(db, n, now)).await;
    let (small_live, small_list) = measure().await;
    let small_rotation = rotate(SMALL - ROTATED).await;
    let started = Instant::now();
    in_batches(SMALL, total, |n| insert_family(db, n, now)).await;
    let seeding = started.elapsed();
    database.settle().await;
    let (large_live, large_list) = measure().await;
    let large_rotation = rotate(SMALL - ROTATED / 2).await;
    println!("\nJWT refresh tokens in {name}, {total} families (one token each)\n");
    println!("| what | at 1 000 | at {total} | × |");
    println!("|---|---|---|---|");
    for (what, small, large) in [
        (
            "`session-check`: is the family live",
            small_live,
            large_live,
        ),
        (
            "the devices page: a user's families",
            small_list,
            large_list,
        ),
        ("a refresh: one rotation", small_rotation, large_rotation),
    ] {
        println!(
            "| {what} | {small:.1} µs | {large:.1} µs | {:.2} |",
            large / small
        );
    }
    println!("\nseeding {total} families: {seeding:.0?}");
}

const LIFETIMES: Lifetimes = Lifetimes {
    remembered: Lifetime {
        idle: 14 * 86_400,
        absolute: 30 * 86_400,
    },
    unremembered: Lifetime {
        idle: 12 * 3_600,
        absolute: 86_400,
    },
    strict: false,
};
