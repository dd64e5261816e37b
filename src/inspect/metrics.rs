//! What recognising a request costs, measured on every request: the time it took, the database
//! queries it sent, and the bytes of credentials the browser carried.
//!
//! Queries are counted by the database layer's counter ([`counting_queries`]); recognition
//! never opens a transaction, so every statement of it is counted. The last [`SAMPLES_KEPT`]
//! measurements of each column are kept for the compare page's medians and p99s, in a ring per
//! column that every request writes without a lock: one atomic add for its slot, one atomic
//! store of the sample packed into 64 bits.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

use crate::{
    auth::{Auth, CookieChanges, Credentials, Recognition},
    core::{client::ClientInfo, sync::lock},
    db::counting_queries,
    error::AppError,
    model::{Column, Floors, KillEffect, RecognitionCost, Revocation, SessionFootprint, StoreRead},
};

/// Measurements kept per column.
pub const SAMPLES_KEPT: usize = 4096;

/// A request's recognition, what it cost, and the column it was recorded under (none when
/// nobody was recognised).
pub struct Measured {
    pub recognition: Recognition,
    /// Cookies the response should set because of it (a renewed or forgotten session cookie).
    pub cookies: CookieChanges,
    pub cost: RecognitionCost,
    pub column: Option<Column>,
}

/// Recognises what a request presents under the revocation `setting`, measures what that cost
/// and records it under its column. Live requests and the compare page's burst both come here.
pub async fn measure_recognition(
    auth: &Auth,
    metrics: &Metrics,
    presented: &Credentials,
    client: &ClientInfo,
    setting: Revocation,
) -> Result<Measured, AppError> {
    let started = Instant::now();
    let (recognising, queries) =
        counting_queries(auth.recognise_with(presented, client, setting)).await;
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let recognising = recognising?;
    let cost = RecognitionCost {
        micros,
        queries,
        credential_bytes: presented.bytes,
    };
    let column = recognising
        .recognition
        .user
        .as_ref()
        .map(|user| Column::of(user.mode, setting));
    if let Some(column) = column {
        metrics.record(column, cost);
    }
    Ok(Measured {
        recognition: recognising.recognition,
        cookies: recognising.cookies,
        cost,
        column,
    })
}

/// Summary of one column's kept measurements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub requests: usize,
    pub median_micros: f64,
    pub p99_micros: f64,
    pub queries_per_request: f64,
    pub bytes_per_request: f64,
}

/// The last [`SAMPLES_KEPT`] samples of one column.
#[derive(Debug)]
struct Ring {
    /// How many samples were ever written; the next goes to `written % SAMPLES_KEPT`.
    written: AtomicUsize,
    slots: Box<[AtomicU64]>,
}

impl Default for Ring {
    fn default() -> Self {
        Ring {
            written: AtomicUsize::new(0),
            slots: (0..SAMPLES_KEPT).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A sample in 64 bits: the time as an `f32` of microseconds (7 significant digits), the
/// queries (up to 255) and the credential bytes (up to 16 MiB, beyond any header limit).
fn pack(cost: RecognitionCost) -> u64 {
    let micros = u64::from((cost.micros as f32).to_bits());
    let queries = u64::from(cost.queries.min(0xff));
    let bytes = cost.credential_bytes.min(0xff_ffff) as u64;
    micros << 32 | queries << 24 | bytes
}

fn unpack(packed: u64) -> RecognitionCost {
    RecognitionCost {
        micros: f64::from(f32::from_bits((packed >> 32) as u32)),
        queries: ((packed >> 24) & 0xff) as u32,
        credential_bytes: (packed & 0xff_ffff) as usize,
    }
}

impl Ring {
    fn record(&self, cost: RecognitionCost) {
        let slot = self.written.fetch_add(1, Ordering::Relaxed) % SAMPLES_KEPT;
        self.slots[slot].store(pack(cost), Ordering::Relaxed);
    }

    /// The kept samples. A sample written while this reads may show in its place or not yet:
    /// either is a sample of the last few requests.
    fn samples(&self) -> Vec<RecognitionCost> {
        let kept = self.written.load(Ordering::Relaxed).min(SAMPLES_KEPT);
        self.slots[..kept]
            .iter()
            .map(|slot| unpack(slot.load(Ordering::Relaxed)))
            .collect()
    }

    fn clear(&self) {
        self.written.store(0, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// One ring per column, in [`Column::ALL`] order.
    samples: [Ring; 4],
    /// What the last kill drill measured, per column.
    kill_effects: Mutex<HashMap<Column, KillEffect>>,
    /// What the last burst measured of each way's floor.
    floors: Mutex<Option<Floors>>,
    /// What the last burst measured of the session store's bytes per session.
    session_footprint: Mutex<Option<SessionFootprint>>,
    /// What the last burst measured of each store the server can reach.
    store_reads: Mutex<Vec<StoreRead>>,
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of sorted values.
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Metrics {
    /// Forgets every sample and kill effect (the benchmark drops its warm-up this way).
    pub fn clear(&self) {
        for ring in &self.samples {
            ring.clear();
        }
        lock(&self.kill_effects).clear();
        *lock(&self.floors) = None;
        *lock(&self.session_footprint) = None;
        lock(&self.store_reads).clear();
    }

    fn ring(&self, column: Column) -> &Ring {
        let index = Column::ALL
            .iter()
            .position(|each| *each == column)
            .unwrap_or_default();
        &self.samples[index]
    }

    pub fn record(&self, column: Column, cost: RecognitionCost) {
        self.ring(column).record(cost);
    }

    pub fn summary(&self, column: Column) -> Summary {
        let kept = self.ring(column).samples();
        if kept.is_empty() {
            return Summary::default();
        }
        let mut micros: Vec<f64> = kept.iter().map(|cost| cost.micros).collect();
        micros.sort_by(f64::total_cmp);
        let count = kept.len() as f64;
        Summary {
            requests: kept.len(),
            median_micros: percentile(&micros, 0.5),
            p99_micros: percentile(&micros, 0.99),
            queries_per_request: kept.iter().map(|cost| f64::from(cost.queries)).sum::<f64>()
                / count,
            bytes_per_request: kept
                .iter()
                .map(|cost| cost.credential_bytes as f64)
                .sum::<f64>()
                / count,
        }
    }

    pub fn set_kill_effect(&self, column: Column, effect: KillEffect) {
        lock(&self.kill_effects).insert(column, effect);
    }

    pub fn kill_effect(&self, column: Column) -> Option<KillEffect> {
        lock(&self.kill_effects).get(&column).copied()
    }

    pub fn set_floors(&self, floors: Floors) {
        *lock(&self.floors) = Some(floors);
    }

    pub fn floors(&self) -> Option<Floors> {
        *lock(&self.floors)
    }

    pub fn set_session_footprint(&self, footprint: SessionFootprint) {
        *lock(&self.session_footprint) = Some(footprint);
    }

    pub fn session_footprint(&self) -> Option<SessionFootprint> {
        *lock(&self.session_footprint)
    }

    /// Keeps `reads`, cheapest first.
    pub fn set_store_reads(&self, mut reads: Vec<StoreRead>) {
        reads.sort_by(|a, b| a.median_micros.total_cmp(&b.median_micros));
        *lock(&self.store_reads) = reads;
    }

    pub fn store_reads(&self) -> Vec<StoreRead> {
        lock(&self.store_reads).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(micros: f64, queries: u32, credential_bytes: usize) -> RecognitionCost {
        RecognitionCost {
            micros,
            queries,
            credential_bytes,
        }
    }

    #[test]
    fn summaries_use_nearest_rank_percentiles() {
        let metrics = Metrics::default();
        for micros in 1..=100 {
            metrics.record(Column::Session, cost(f64::from(micros), 1, 33));
        }
        let summary = metrics.summary(Column::Session);
        assert_eq!(summary.requests, 100);
        assert_eq!(summary.median_micros, 50.0);
        assert_eq!(summary.p99_micros, 99.0);
        assert_eq!(summary.queries_per_request, 1.0);
        assert_eq!(summary.bytes_per_request, 33.0);
        assert_eq!(metrics.summary(Column::JwtPure), Summary::default());
    }

    #[test]
    fn a_sample_survives_its_packing() {
        for sample in [
            cost(0.0, 0, 0),
            cost(2.25, 1, 33),
            cost(123_456.5, 3, 16_384),
        ] {
            assert_eq!(unpack(pack(sample)), sample);
        }
        // Beyond the fields' widths, the largest that fits.
        let huge = unpack(pack(cost(1.0, 1000, usize::MAX)));
        assert_eq!((huge.queries, huge.credential_bytes), (255, 0xff_ffff));
    }

    #[test]
    fn parallel_recording_loses_no_count_and_mixes_no_columns() {
        let metrics = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let metrics = metrics.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        metrics.record(Column::Session, cost(2.0, 1, 33));
                        metrics.record(Column::JwtPure, cost(3.0, 0, 366));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let session = metrics.summary(Column::Session);
        assert_eq!((session.requests, session.median_micros), (4000, 2.0));
        assert_eq!(session.bytes_per_request, 33.0);
        assert_eq!(metrics.summary(Column::JwtPure).median_micros, 3.0);
    }

    #[test]
    fn only_the_latest_samples_are_kept() {
        let metrics = Metrics::default();
        for _ in 0..SAMPLES_KEPT {
            metrics.record(Column::JwtPure, cost(1000.0, 0, 380));
        }
        for _ in 0..SAMPLES_KEPT {
            metrics.record(Column::JwtPure, cost(10.0, 0, 380));
        }
        let summary = metrics.summary(Column::JwtPure);
        assert_eq!(summary.requests, SAMPLES_KEPT);
        assert_eq!(summary.p99_micros, 10.0);
    }
}
