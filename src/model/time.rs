//! Points in time and durations, worded on the server so that the server-rendered page and the
//! hydrated page show the same text.

use serde::{Deserialize, Serialize};

/// A point in time, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Moment {
    pub unix: i64,
    /// `2026-11-23 14:05 UTC`
    pub utc: String,
    /// `3 minutes ago`, `in 14 days`
    pub relative: String,
}

/// `14 days`, `5 minutes`, `90 seconds`: the largest unit that states `seconds` exactly.
pub fn describe_seconds(seconds: i64) -> String {
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| seconds != 0 && seconds % size == 0)
        .map_or((seconds, "second"), |(size, unit)| (seconds / size, unit));
    plural(count, unit)
}

fn plural(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

#[cfg(feature = "ssr")]
impl Moment {
    /// `unix` as seen at `now`.
    pub fn at(unix: i64, now: i64) -> Self {
        let utc = time::OffsetDateTime::from_unix_timestamp(unix)
            .map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_else(|_| unix.to_string());
        Moment {
            unix,
            utc,
            relative: relative(unix - now),
        }
    }
}

/// `3 minutes ago`, `in 14 days`, `just now`: the largest unit, rounded to the nearest.
#[cfg(feature = "ssr")]
fn relative(delta: i64) -> String {
    let size = delta.unsigned_abs() as i64;
    if size < 10 {
        return "just now".into();
    }
    let (count, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(unit_size, _)| size >= *unit_size)
        .map_or((size, "second"), |(unit_size, unit)| {
            ((size + unit_size / 2) / unit_size, unit)
        });
    if delta < 0 {
        format!("{} ago", plural(count, unit))
    } else {
        format!("in {}", plural(count, unit))
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn moments_read_naturally() {
        let now = 1_800_000_000;
        assert_eq!(Moment::at(now, now).relative, "just now");
        assert_eq!(Moment::at(now - 180, now).relative, "3 minutes ago");
        assert_eq!(Moment::at(now + 14 * 86_400, now).relative, "in 14 days");
        assert_eq!(
            Moment::at(now + 14 * 86_400 - 5, now).relative,
            "in 14 days"
        );
        assert_eq!(Moment::at(now - 3_600, now).relative, "1 hour ago");
        assert_eq!(Moment::at(0, now).utc, "1970-01-01 00:00 UTC");
    }

    #[test]
    fn durations_use_their_largest_exact_unit() {
        assert_eq!(describe_seconds(14 * 86_400), "14 days");
        assert_eq!(describe_seconds(300), "5 minutes");
        assert_eq!(describe_seconds(90), "90 seconds");
        assert_eq!(describe_seconds(3_600), "1 hour");
    }
}
