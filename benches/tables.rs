//! The in-memory tables a client can make the server grow: the JWT denylist and the sign-in
//! throttle's counts. An insert must cost the same however full the table is: this measures
//! inserts into an empty table and into one holding a million entries, in an optimised build.
//!
//! ```sh
//! cargo bench --features ssr --bench tables                   # 1 000 000 entries
//! BENCH_ENTRIES=100000 cargo bench --features ssr --bench tables
//! ```

use std::time::Instant;

use ticketbooth::auth::{jwt::revocation::Denylist, recent::RecentTable};

/// Inserts timed at each end of the fill.
const SAMPLE: usize = 10_000;
/// The throttle's bound on tracked keys (src/auth/throttle.rs).
const THROTTLE_KEYS: usize = 100_000;

fn entries() -> usize {
    std::env::var("BENCH_ENTRIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000)
        .max(2 * SAMPLE)
}

/// Nanoseconds per call of `insert` over `range`.
fn per_insert(range: std::ops::Range<usize>, mut insert: impl FnMut(usize)) -> f64 {
    let count = range.len();
    let started = Instant::now();
    for n in range {
        insert(n);
    }
    started.elapsed().as_nanos() as f64 / count as f64
}

fn main() {
    let total = entries();
    let now = 1_800_000_000_i64;

    // The denylist: every revoked token id stays until its token expires; none has yet.
    let denylist = Denylist::default();
    let deny = |n: usize| denylist.deny(format!("jti-{n:012}"), now + 300 + (n % 300) as i64, now);
    let empty = per_insert(0..SAMPLE, deny);
    for n in SAMPLE..total - SAMPLE {
        deny(n);
    }
    let full = per_insert(total - SAMPLE..total, deny);
    let (held, bytes) = denylist.footprint();
    // What each insert cost before the expiry index: a scan of every entry for expired ones.
    let mut scanned: std::collections::HashMap<String, i64> = (0..total)
        .map(|n| (format!("jti-{n:012}"), now + 300))
        .collect();
    let started = Instant::now();
    scanned.retain(|_, until| *until > std::hint::black_box(now));
    let scan = started.elapsed().as_nanos() as f64;

    // The throttle: a different address per attempt, more than it tracks, so every insert past
    // the bound forgets the stalest address.
    let mut table = RecentTable::new(THROTTLE_KEYS);
    let mut record = |n: usize| {
        table.record(
            format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255),
            n as i64,
        )
    };
    let table_empty = per_insert(0..SAMPLE, &mut record);
    for n in SAMPLE..total - SAMPLE {
        record(n);
    }
    let table_full = per_insert(total - SAMPLE..total, &mut record);
    // Before the index, each insert into the full table looked for the stalest key by a scan.
    let keys: std::collections::HashMap<String, i64> = (0..THROTTLE_KEYS)
        .map(|n| (n.to_string(), n as i64))
        .collect();
    let started = Instant::now();
    std::hint::black_box(keys.iter().min_by_key(|(_, last)| **last));
    let eviction_scan = started.elapsed().as_nanos() as f64;

    println!("\nin-memory tables, {total} inserts each (optimised build)\n");
    println!(
        "| table | per insert, first {SAMPLE} | per insert, last {SAMPLE} | held at the end |"
    );
    println!("|---|---|---|---|");
    println!(
        "| denylist | {empty:.0} ns | {full:.0} ns | {held} token ids, about {} MB |",
        bytes / 1_000_000
    );
    println!(
        "| (before: a full scan per insert) | | {:.0} ns | {} entries scanned |",
        scan,
        scanned.len()
    );
    println!(
        "| throttle (one table) | {table_empty:.0} ns | {table_full:.0} ns | {} addresses (its bound) |",
        table.len()
    );
    println!(
        "| (before: a scan for the stalest key per insert) | | {eviction_scan:.0} ns | {} keys scanned |",
        keys.len()
    );
}
