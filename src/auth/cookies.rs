//! Cookies as values: what issuing or ending credentials asks the response to set.
//!
//! Modes never touch a response. They return [`CookieChanges`], and the layer that owns the
//! response (a handler, a server function, the recognition middleware) applies them. Every
//! credential cookie is built by [`credential_cookie`], so all of them are HttpOnly, carry
//! `Secure` over https, and their removals do too: a browser ignores a `__Host-` removal
//! without it.

use tower_cookies::{
    Cookie, Cookies,
    cookie::{SameSite, time::Duration},
};

/// Cookies for the response to set, in order. Dropping it unapplied loses them.
#[must_use = "cookie changes do nothing until applied to a response"]
#[derive(Default)]
pub struct CookieChanges(Vec<Cookie<'static>>);

/// Names and lifetimes only: the values are credentials.
impl std::fmt::Debug for CookieChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|cookie| {
                (
                    cookie.name(),
                    cookie.max_age().map(|age| age.whole_seconds()),
                )
            }))
            .finish()
    }
}

impl CookieChanges {
    pub fn none() -> Self {
        CookieChanges::default()
    }

    pub fn set(mut self, cookie: Cookie<'static>) -> Self {
        self.0.push(cookie);
        self
    }

    pub fn and(mut self, other: CookieChanges) -> Self {
        self.0.extend(other.0);
        self
    }

    /// Adds them to the response's cookie jar.
    pub fn apply(self, jar: &Cookies) {
        for cookie in self.0 {
            jar.add(cookie);
        }
    }

    /// The cookies, for a test or a caller that builds its own response.
    pub fn cookies(&self) -> &[Cookie<'static>] {
        &self.0
    }
}

/// How a credential cookie is scoped.
#[derive(Clone, Copy, Debug)]
pub struct CookieScope {
    pub path: &'static str,
    pub same_site: SameSite,
    pub secure: bool,
}

/// An HttpOnly cookie; `max_age` of `None` makes it last as long as the browser session.
pub fn credential_cookie(
    name: &'static str,
    value: String,
    scope: CookieScope,
    max_age: Option<i64>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, value))
        .path(scope.path)
        .http_only(true)
        .secure(scope.secure)
        .same_site(scope.same_site);
    if let Some(seconds) = max_age {
        cookie = cookie.max_age(Duration::seconds(seconds.max(0)));
    }
    cookie.build()
}

/// Tells the browser to forget the cookie `name` set with `scope`.
pub fn removal(name: &'static str, scope: CookieScope) -> Cookie<'static> {
    credential_cookie(name, String::new(), scope, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_never_values() {
        let scope = CookieScope {
            path: "/",
            same_site: SameSite::Lax,
            secure: false,
        };
        let changes = CookieChanges::none().set(credential_cookie(
            "tb_session",
            "s3cr3t".into(),
            scope,
            Some(60),
        ));
        let shown = format!("{changes:?}");
        assert!(
            shown.contains("tb_session") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }

    #[test]
    fn a_removal_keeps_the_scope_so_browsers_accept_it() {
        let scope = CookieScope {
            path: "/",
            same_site: SameSite::Lax,
            secure: true,
        };
        let text = removal("__Host-tb_session", scope).to_string();
        for attribute in ["Max-Age=0", "Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
            assert!(text.contains(attribute), "{text}");
        }
    }
}
