//! Does a store slow down as it fills? Each cookie-session store at 1 000 sessions, then at
//! 1 000 000 (100 000 users with 10 sessions each): what reading one session (every request's
//! lookup) and listing a user's sessions (the devices page) cost at both sizes, how long seeding
//! took, and what the memory store spends per session (the articles' "the desk fills up").
//!
//! ```sh
//! make bench-scale                            # 1 000 000 sessions
//! BENCH_SESSIONS=100000 make bench-scale      # a quicker look
//! ```

// Shared with the tests, which also restart it; this bench only starts it.
#[allow(dead_code)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::future::join_all;
use redis_server::RedisServer;
use ticketbooth::{
    auth::session::{
        memory::MemorySessionStore,
        redis::RedisSessionStore,
        sql::SqlSessionStore,
        state::{SessionState, hash_session_id},
        store::SessionBackend,
    },
    core::clock::Clock,
    db::Db,
    inspect::floors::median_micros,
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

/// Creates sessions `from..to` (user = index / 10), 256 at a time; returns the ID of each
/// user's first session among them.
async fn seed(store: &Arc<dyn SessionBackend>, from: i64, to: i64, now: i64) -> Vec<Id> {
    let mut firsts = Vec::new();
    let mut index = from;
    while index < to {
        let batch: Vec<i64> = (index..to.min(index + 256)).collect();
        index += batch.len() as i64;
        let created = join_all(batch.iter().map(|n| {
            let store = Arc::clone(store);
            let n = *n;
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
        }))
        .await;
        firsts.extend(
            created
                .into_iter()
                .filter(|(n, _)| n % PER_USER == 0)
                .map(|(_, id)| id),
        );
    }
    firsts
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
    let db = Db::open(&format!(
        "sqlite://{}",
        data.path().join("scale.db").display()
    ))
    .await
    .expect("the database");
    // The SQLite store's sessions belong to users that exist.
    let started = Instant::now();
    for n in 1..=(total / PER_USER + 1) {
        db.insert_user(&format!("user{n}"), "$argon2id$not-a-real-hash", now)
            .await
            .expect("a user");
    }
    let users_took = started.elapsed();

    let before = resident_bytes();
    let memory = Arc::new(MemorySessionStore::new(clock.clone()));
    let stores: Vec<(&str, Arc<dyn SessionBackend>)> = vec![
        ("memory", memory.clone()),
        ("SQLite", Arc::new(SqlSessionStore::new(db, clock.clone()))),
        (
            "Redis",
            Arc::new(RedisSessionStore::open(&redis.url(), clock.clone()).expect("Redis")),
        ),
    ];
    println!(
        "\n{total} sessions ({} users × {PER_USER}); users seeded in {users_took:.1?}\n",
        total / PER_USER
    );
    println!(
        "| store | read one, at 1 000 | at {total} | × | list a user's 10, at 1 000 | at {total} | × | seeding {total} |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut memory_per_session = 0.0;
    for (name, store) in &stores {
        let firsts = seed(store, 0, SMALL, now).await;
        let small = measure(store, &firsts[0], 1).await;
        let started = Instant::now();
        seed(store, SMALL, total, now).await;
        let seeding: Duration = started.elapsed();
        if *name == "memory" {
            memory_per_session =
                (resident_bytes().saturating_sub(before)) as f64 / memory.len() as f64;
        }
        let large = measure(store, &firsts[0], 1).await;
        println!(
            "| {name} | {:.1} µs | {:.1} µs | {:.2} | {:.1} µs | {:.1} µs | {:.2} | {:.0?} |",
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
        "\nthe memory store's resident memory: about {memory_per_session:.0} bytes per session ({:.0} MB at {total})",
        memory_per_session * total as f64 / 1e6
    );
}
