//! How long a signed-in device lasts, with "Remember me" and without.

use serde::{Deserialize, Serialize};

use super::describe_seconds;

/// A device ends after `idle` seconds unused, and `absolute` seconds after its sign-in however
/// busy it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Lifetime {
    pub idle: i64,
    pub absolute: i64,
}

impl Lifetime {
    /// When a device signed in at `signed_in_at` and last active at `active_at` ends.
    pub fn ends_at(self, signed_in_at: i64, active_at: i64) -> i64 {
        (active_at + self.idle).min(signed_in_at + self.absolute)
    }

    /// Whether such a device has ended at `now`.
    pub fn has_ended(self, signed_in_at: i64, active_at: i64, now: i64) -> bool {
        now >= self.ends_at(signed_in_at, active_at)
    }

    /// "after 12 hours unused, 1 day after sign-in at the latest"
    pub fn describe(self) -> String {
        format!(
            "after {} unused, {} after sign-in at the latest",
            describe_seconds(self.idle),
            describe_seconds(self.absolute)
        )
    }
}

/// The lifetimes a server grants a sign-in, with "Remember me" ticked and without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifetimes {
    pub remembered: Lifetime,
    pub unremembered: Lifetime,
    /// The OWASP ASVS level 2 preset is on: short lifetimes whatever the box says.
    pub strict: bool,
}

impl Lifetimes {
    pub fn of(&self, remembered: bool) -> Lifetime {
        if remembered {
            self.remembered
        } else {
            self.unremembered
        }
    }
}

/// What the login form says about "Remember me": the mode the browser chose last, and both
/// lifetimes of cookie sessions and of JWT refresh families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberTerms {
    pub session: Lifetimes,
    pub jwt: Lifetimes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_ends_at_the_sooner_of_its_two_limits() {
        let lifetime = Lifetime {
            idle: 100,
            absolute: 1_000,
        };
        assert_eq!(lifetime.ends_at(0, 0), 100);
        assert_eq!(lifetime.ends_at(0, 950), 1_000, "the absolute limit wins");
        assert!(!lifetime.has_ended(0, 50, 149));
        assert!(lifetime.has_ended(0, 50, 150));
        assert!(lifetime.has_ended(0, 999, 1_000));
        assert_eq!(
            Lifetime {
                idle: 12 * 3_600,
                absolute: 86_400
            }
            .describe(),
            "after 12 hours unused, 1 day after sign-in at the latest"
        );
    }
}
