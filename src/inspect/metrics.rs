//! What recognising a request costs, measured on every request: the time it took, the database
//! queries it sent, and the bytes of credentials the browser carried.
//!
//! Queries are counted by the database layer's counter ([`counting_queries`]); recognition
//! never opens a transaction, so every statement of it is counted. The last [`SAMPLES_KEPT`]
//! measurements of each column are kept for the compare page's medians and p99s.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Instant,
};

use crate::{
    auth::{Auth, CookieChanges, Credentials, Recognition},
    core::{client::ClientInfo, sync::lock},
    db::counting_queries,
    error::AppError,
    model::{Column, Floors, KillEffect, RecognitionCost, Revocation},
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

#[derive(Debug, Default)]
pub struct Metrics {
    samples: Mutex<HashMap<Column, VecDeque<RecognitionCost>>>,
    /// What the last kill drill measured, per column.
    kill_effects: Mutex<HashMap<Column, KillEffect>>,
    /// What the last burst measured of each way's floor.
    floors: Mutex<Option<Floors>>,
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Metrics {
    /// Forgets every sample and kill effect (the benchmark drops its warm-up this way).
    pub fn clear(&self) {
        lock(&self.samples).clear();
        lock(&self.kill_effects).clear();
        *lock(&self.floors) = None;
    }

    pub fn record(&self, column: Column, cost: RecognitionCost) {
        let mut samples = lock(&self.samples);
        let kept = samples.entry(column).or_default();
        if kept.len() == SAMPLES_KEPT {
            kept.pop_front();
        }
        kept.push_back(cost);
    }

    pub fn summary(&self, column: Column) -> Summary {
        let samples = lock(&self.samples);
        let Some(kept) = samples.get(&column).filter(|kept| !kept.is_empty()) else {
            return Summary::default();
        };
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
