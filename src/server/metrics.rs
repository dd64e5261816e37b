//! What recognising a request costs, measured on every request: the time it took, the database
//! queries it sent, and the bytes of credentials the browser carried.
//!
//! Queries are counted by a task-local counter that [`crate::db::Db`] bumps for every statement
//! it sends through its pool; recognition never opens a transaction, so every statement of it is
//! counted. The last [`SAMPLES_KEPT`] measurements of each way of recognising a request are kept
//! for the compare page's medians and p99s.

use std::{
    cell::Cell,
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::Instant,
};

use http::{header::AUTHORIZATION, request::Parts};

use super::state::AppState;
use crate::{
    auth::{Recognition, cookie_bytes},
    error::AppError,
    model::{Mode, RecognitionCost, Revocation},
};

/// Measurements kept per way of recognising requests.
pub const SAMPLES_KEPT: usize = 4096;

tokio::task_local! {
    static QUERIES: Cell<u32>;
}

/// Counts one database statement against the measurement under way, if there is one.
pub fn count_query() {
    let _ = QUERIES.try_with(|queries| queries.set(queries.get() + 1));
}

/// A recognised request's measurements, and the column they were recorded under (none when
/// nobody was recognised).
pub struct Measured {
    pub recognition: Recognition,
    pub cost: RecognitionCost,
    pub column: Option<&'static str>,
}

/// Recognises a request, measures what it cost and records it under its column.
pub async fn measure_recognition(state: &AppState, parts: &Parts) -> Result<Measured, AppError> {
    let started = Instant::now();
    let (recognition, queries) = QUERIES
        .scope(Cell::new(0), async {
            let recognition = state.auth.recognise(parts).await;
            (recognition, QUERIES.with(Cell::get))
        })
        .await;
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let recognition = recognition?;
    let cost = RecognitionCost {
        micros,
        queries,
        credential_bytes: credential_bytes(state, parts),
    };
    let column = recognition
        .user
        .as_ref()
        .map(|user| column_key(user.mode, state.auth.jwt().revocation_for(parts)));
    if let Some(column) = column {
        state.metrics.record(column, cost);
    }
    Ok(Measured {
        recognition,
        cost,
        column,
    })
}

/// The credentials of a request: its credential cookies and its Authorization header.
fn credential_bytes(state: &AppState, parts: &Parts) -> usize {
    let names = state.config.cookie_names();
    let authorization = parts
        .headers
        .get(AUTHORIZATION)
        .map_or(0, |value| value.as_bytes().len());
    cookie_bytes(parts, names.session) + cookie_bytes(parts, names.access) + authorization
}

/// `session`, or `jwt-` and the revocation setting.
pub fn column_key(mode: Mode, revocation: Revocation) -> &'static str {
    match (mode, revocation) {
        (Mode::Session, _) => "session",
        (Mode::Jwt, Revocation::Pure) => "jwt-pure",
        (Mode::Jwt, Revocation::SessionCheck) => "jwt-session-check",
        (Mode::Jwt, Revocation::Denylist) => "jwt-denylist",
    }
}

/// The columns of the compare page, in order.
pub const COLUMNS: [(&str, &str); 4] = [
    ("session", "cookie session"),
    ("jwt-pure", "JWT, pure"),
    ("jwt-session-check", "JWT, session-check"),
    ("jwt-denylist", "JWT, denylist"),
];

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
    samples: Mutex<HashMap<&'static str, VecDeque<RecognitionCost>>>,
    /// What the last kill drill measured, per column.
    kill_effects: Mutex<HashMap<&'static str, String>>,
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
    pub fn record(&self, column: &'static str, cost: RecognitionCost) {
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = samples.entry(column).or_default();
        if kept.len() == SAMPLES_KEPT {
            kept.pop_front();
        }
        kept.push_back(cost);
    }

    pub fn summary(&self, column: &str) -> Summary {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(kept) = samples.get(column).filter(|kept| !kept.is_empty()) else {
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

    pub fn set_kill_effect(&self, column: &'static str, effect: String) {
        self.kill_effects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(column, effect);
    }

    pub fn kill_effect(&self, column: &str) -> Option<String> {
        self.kill_effects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(column)
            .cloned()
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
            metrics.record("session", cost(f64::from(micros), 1, 33));
        }
        let summary = metrics.summary("session");
        assert_eq!(summary.requests, 100);
        assert_eq!(summary.median_micros, 50.0);
        assert_eq!(summary.p99_micros, 99.0);
        assert_eq!(summary.queries_per_request, 1.0);
        assert_eq!(summary.bytes_per_request, 33.0);
        assert_eq!(metrics.summary("jwt-pure"), Summary::default());
    }

    #[test]
    fn only_the_latest_samples_are_kept() {
        let metrics = Metrics::default();
        for _ in 0..SAMPLES_KEPT {
            metrics.record("jwt-pure", cost(1000.0, 0, 380));
        }
        for _ in 0..SAMPLES_KEPT {
            metrics.record("jwt-pure", cost(10.0, 0, 380));
        }
        let summary = metrics.summary("jwt-pure");
        assert_eq!(summary.requests, SAMPLES_KEPT);
        assert_eq!(summary.p99_micros, 10.0);
    }

    #[tokio::test]
    async fn queries_are_counted_only_inside_a_measurement() {
        count_query();
        let ((), counted) = QUERIES
            .scope(Cell::new(0), async {
                count_query();
                count_query();
                ((), QUERIES.with(Cell::get))
            })
            .await;
        assert_eq!(counted, 2);
    }
}
