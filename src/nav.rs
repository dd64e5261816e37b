//! Where users may go: the protected pages, and the only `next` targets honoured after sign-in.

use crate::model::RevocationReason;

/// Pages that need a signed-in user. Anonymous visits go to `/login?next=<path>`.
pub const PROTECTED_PAGES: &[&str] = &[
    "/dashboard",
    "/devices",
    "/playground",
    "/account",
    "/activity",
    "/admin",
];

/// Where sign-in leads when `next` is missing or refused.
pub const HOME_AFTER_SIGN_IN: &str = "/dashboard";

pub fn is_protected(path: &str) -> bool {
    PROTECTED_PAGES.iter().any(|page| {
        path.strip_prefix(page)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// `next` if it is a path on this site, else [`HOME_AFTER_SIGN_IN`].
///
/// Honoured: `/devices`, `/dashboard?tab=1`. Refused: anything not starting with one `/`
/// (`https://evil.example`, `//evil.example`), backslashes (`/\evil.example`, which browsers
/// read as `//`), and control or space characters (browsers drop tabs and newlines from URLs,
/// so `/\t/evil.example` would become `//evil.example`).
pub fn safe_next(next: Option<&str>) -> String {
    let acceptable = |next: &&str| {
        next.starts_with('/')
            && !next.starts_with("//")
            && !next
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    };
    next.filter(acceptable)
        .unwrap_or(HOME_AFTER_SIGN_IN)
        .to_owned()
}

/// `/login?next=<path, percent-encoded>`
pub fn login_url(next: &str) -> String {
    format!("/login?next={}", encode_query_value(next))
}

/// `/login?next=<path>&signed_out=<reason>`: the login page says why the session ended.
pub fn login_url_signed_out(next: &str, reason: RevocationReason) -> String {
    format!("{}&signed_out={}", login_url(next), reason.key())
}

/// Percent-encodes everything but unreserved characters and `/`.
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_honoured() {
        assert_eq!(safe_next(Some("/devices")), "/devices");
        assert_eq!(safe_next(Some("/dashboard?x=1")), "/dashboard?x=1");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "evil.example",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/dashboard", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn protected_pages_include_their_subpaths_only() {
        assert!(is_protected("/dashboard"));
        assert!(is_protected("/devices/"));
        assert!(!is_protected("/devicesfoo"));
        assert!(!is_protected("/login"));
    }

    #[test]
    fn login_url_keeps_the_query_of_next() {
        assert_eq!(
            login_url("/devices?a=1&b=2"),
            "/login?next=/devices%3Fa%3D1%26b%3D2"
        );
    }
}
