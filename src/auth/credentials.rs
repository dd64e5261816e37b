//! What a request presents to prove who sent it, read once, by [`Credentials::read`].
//!
//! The recognition middleware reads every request's credentials into one [`Credentials`] value
//! and leaves it in the request's extensions; modes, handlers, the load generator and the
//! playground all take that value (or one they build), never headers. One reader means one
//! rule, the same in every handler:
//!
//! - **Cookies** are read from every `Cookie` header, in order. When a name comes more than once,
//!   the first wins: browsers send the most specific cookie first (RFC 6265 §5.4), and a cookie
//!   a subdomain planted for the parent domain comes after ours.
//! - **`Authorization`** must be one header, `Bearer <token>`, the scheme in any case
//!   (RFC 7235). Another scheme or a value that is not text is refused with the reason; two
//!   headers make the whole request a 400 `invalid_request` (RFC 6750 §3.1), whatever the route:
//!   nothing is guessed.
//! - **Which credential wins**: an `Authorization` header, when there is one, decides alone:
//!   the request is recognised by its token or refused, and cookies are not consulted (they are
//!   sent by the browser on its own, the header is sent on purpose). Without one, the session
//!   cookie is asked first, then the access cookie: the first that is recognised wins, and when
//!   none is, the first refusal says why ([`super::Auth::recognise`]).

use std::fmt;

use http::{
    HeaderMap,
    header::{AUTHORIZATION, COOKIE},
};

use super::user::Refusal;
use crate::{
    core::{config::CookieNames, text::excerpt},
    model::{Mode, RevocationReason},
};

/// Remembers, per browser, the mode last chosen at sign-in: a preference, not a credential, read
/// by the same rule.
pub const MODE_CHOICE_COOKIE: &str = "tb_mode";
/// Why this browser's session was ended by someone else (a `RevocationReason` key), for a few
/// minutes after its next request found out: every request of the page that follows (a page
/// load fires several at once, and only the first still carries the dead session cookie) is
/// told the same, and the login page can say why. Signing in clears it.
pub const SIGNED_OUT_COOKIE: &str = "tb_signed_out";

/// The access token of an `Authorization` header.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Authorization {
    #[default]
    Absent,
    Bearer(String),
    /// Present, and not something we accept: the reason.
    Refused(Refusal),
    /// More than one header: the request cannot be read unambiguously.
    Repeated,
}

/// Everything a request presents to be recognised. `Debug` shows which credentials are present,
/// never their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The session cookie's value.
    pub session: Option<String>,
    /// The access cookie's value (a JWT).
    pub access_cookie: Option<String>,
    /// The refresh cookie's value: browsers send it only to the refresh path.
    pub refresh: Option<String>,
    pub authorization: Authorization,
    /// The mode this browser chose last.
    pub mode_choice: Option<Mode>,
    /// Why this browser's session was ended lately, if it was ([`SIGNED_OUT_COOKIE`]).
    pub signed_out: Option<RevocationReason>,
    /// Bytes of credentials on the wire: the session and access cookies as `name=value`, and the
    /// `Authorization` header's value.
    pub bytes: usize,
}

/// Where an access token was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    AuthorizationHeader,
    AccessCookie,
}

impl Credentials {
    /// Reads what `headers` present, under this server's cookie names.
    pub fn read(headers: &HeaderMap, names: CookieNames) -> Self {
        let cookie = |name: &str| first_cookie(headers, name).map(str::to_owned);
        let session = cookie(names.session);
        let access_cookie = cookie(names.access);
        let cookie_bytes = |name: &str, value: &Option<String>| {
            value
                .as_ref()
                .map_or(0, |value| name.len() + 1 + value.len())
        };
        let authorization_bytes = headers
            .get_all(AUTHORIZATION)
            .iter()
            .map(|value| value.as_bytes().len())
            .sum::<usize>();
        Credentials {
            bytes: cookie_bytes(names.session, &session)
                + cookie_bytes(names.access, &access_cookie)
                + authorization_bytes,
            session,
            access_cookie,
            refresh: cookie(names.refresh),
            authorization: read_authorization(headers),
            mode_choice: first_cookie(headers, MODE_CHOICE_COOKIE).and_then(Mode::from_key),
            signed_out: first_cookie(headers, SIGNED_OUT_COOKIE)
                .and_then(RevocationReason::from_key),
        }
    }

    /// What a browser holding only the session cookie `id` presents (the load generator, the
    /// playground).
    pub fn session_cookie(names: CookieNames, id: String) -> Self {
        Credentials {
            bytes: names.session.len() + 1 + id.len(),
            session: Some(id),
            ..Credentials::default()
        }
    }

    /// What a browser holding only the access cookie `token` presents.
    pub fn access_cookie(names: CookieNames, token: String) -> Self {
        Credentials {
            bytes: names.access.len() + 1 + token.len(),
            access_cookie: Some(token),
            ..Credentials::default()
        }
    }

    /// What a script sending `Authorization: Bearer <token>` presents.
    pub fn bearer(token: String) -> Self {
        Credentials {
            bytes: "Bearer ".len() + token.len(),
            authorization: Authorization::Bearer(token),
            ..Credentials::default()
        }
    }

    /// Whether the request presents an `Authorization` header: then it alone decides.
    pub fn has_authorization(&self) -> bool {
        self.authorization != Authorization::Absent
    }

    /// The access token this request presents and where it was, by the rule above; `None` when
    /// it presents none, `Err` when its `Authorization` header is refused.
    pub fn access_token(&self) -> Option<Result<(&str, TokenSource), Refusal>> {
        match &self.authorization {
            Authorization::Bearer(token) => Some(Ok((token, TokenSource::AuthorizationHeader))),
            Authorization::Refused(refusal) => Some(Err(refusal.clone())),
            Authorization::Repeated => Some(Err(Refusal::Malformed(
                "the request has more than one Authorization header".into(),
            ))),
            Authorization::Absent => self
                .access_cookie
                .as_deref()
                .map(|token| Ok((token, TokenSource::AccessCookie))),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |present: bool| if present { "[redacted]" } else { "none" };
        f.debug_struct("Credentials")
            .field("session", &shown(self.session.is_some()))
            .field("access_cookie", &shown(self.access_cookie.is_some()))
            .field("refresh", &shown(self.refresh.is_some()))
            .field(
                "authorization",
                &shown(self.authorization != Authorization::Absent),
            )
            .field("mode_choice", &self.mode_choice)
            .finish()
    }
}

/// The value of the first cookie called `name` in `headers`.
fn first_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn read_authorization(headers: &HeaderMap) -> Authorization {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Authorization::Absent;
    };
    let refused = |detail: String| Authorization::Refused(Refusal::Malformed(detail));
    if values.next().is_some() {
        return Authorization::Repeated;
    }
    let Ok(value) = value.to_str() else {
        return refused("the Authorization header is not text".into());
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // The scheme is echoed into the error message: only a short, escaped excerpt.
        return refused(format!(
            "the {} scheme is not accepted, only Bearer",
            excerpt(scheme, 20)
        ));
    }
    Authorization::Bearer(token.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const NAMES: CookieNames = CookieNames {
        session: "tb_session",
        access: "tb_access",
        refresh: "tb_refresh",
    };

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_first_of_two_cookies_with_one_name_wins_across_headers() {
        let read = Credentials::read(
            &headers(&[
                ("cookie", "other=1; tb_session=first"),
                ("cookie", "tb_session=second; tb_access=token"),
            ]),
            NAMES,
        );
        assert_eq!(read.session.as_deref(), Some("first"));
        assert_eq!(read.access_cookie.as_deref(), Some("token"));
        assert_eq!(read.refresh, None);
        assert_eq!(
            read.bytes,
            "tb_session=first".len() + "tb_access=token".len()
        );
    }

    #[test]
    fn the_authorization_header_wins_over_the_access_cookie() {
        let read = Credentials::read(
            &headers(&[
                ("cookie", "tb_access=from-cookie"),
                ("authorization", "bearer from-header"),
            ]),
            NAMES,
        );
        assert_eq!(
            read.access_token(),
            Some(Ok(("from-header", TokenSource::AuthorizationHeader)))
        );
        let cookie_only = Credentials::read(&headers(&[("cookie", "tb_access=c")]), NAMES);
        assert_eq!(
            cookie_only.access_token(),
            Some(Ok(("c", TokenSource::AccessCookie)))
        );
        assert_eq!(Credentials::default().access_token(), None);
    }

    #[test]
    fn other_schemes_and_repeated_authorization_headers_are_refused() {
        let basic = Credentials::read(&headers(&[("authorization", "Basic dXNlcjpwYXNz")]), NAMES);
        assert!(
            matches!(basic.access_token(), Some(Err(Refusal::Malformed(m))) if m.contains("Basic"))
        );
        let twice = Credentials::read(
            &headers(&[("authorization", "Bearer a"), ("authorization", "Bearer b")]),
            NAMES,
        );
        assert!(twice.authorization == Authorization::Repeated);
        assert!(
            matches!(twice.access_token(), Some(Err(Refusal::Malformed(m))) if m.contains("more than one"))
        );
    }

    #[test]
    fn the_mode_choice_is_read_by_the_same_rule_and_debug_shows_no_secret() {
        let read = Credentials::read(
            &headers(&[("cookie", "tb_mode=jwt; tb_mode=session; tb_session=s3cr3t")]),
            NAMES,
        );
        assert_eq!(read.mode_choice, Some(Mode::Jwt));
        let shown = format!("{read:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
