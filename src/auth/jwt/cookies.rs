//! The JWT mode's cookies in a browser: the access token in an HttpOnly cookie for every path,
//! the refresh token in an HttpOnly, SameSite=Strict cookie sent only to [`REFRESH_PATH`] (only
//! our own pages may trigger a refresh).

use tower_cookies::cookie::SameSite;

use super::{JwtMode, refresh::TokenPair};
use crate::auth::cookies::{CookieChanges, CookieScope, credential_cookie, removal};

/// The only path the refresh cookie is sent to.
pub const REFRESH_PATH: &str = "/auth/refresh";

impl JwtMode {
    fn access_scope(&self) -> CookieScope {
        CookieScope {
            path: "/",
            same_site: SameSite::Lax,
            secure: self.secure,
        }
    }

    fn refresh_scope(&self) -> CookieScope {
        CookieScope {
            path: REFRESH_PATH,
            same_site: SameSite::Strict,
            secure: self.secure,
        }
    }

    /// Both cookies of `pair`. The access cookie lives as long as the refresh token, although
    /// the token in it expires much sooner: an expired token that is still sent tells the server
    /// to refresh. Without "Remember me" both are browser-session cookies (no Max-Age): closing
    /// the browser forgets them.
    pub fn cookies_for(&self, pair: &TokenPair) -> CookieChanges {
        let lifetime = pair
            .remembered
            .then(|| pair.refresh_expires_at - self.clock.now());
        CookieChanges::none()
            .set(credential_cookie(
                self.cookie_names.access,
                pair.access_token.clone(),
                self.access_scope(),
                lifetime,
            ))
            .set(credential_cookie(
                self.cookie_names.refresh,
                pair.refresh_token.clone(),
                self.refresh_scope(),
                lifetime,
            ))
    }

    /// Removes both cookies.
    pub fn forget_cookies(&self) -> CookieChanges {
        CookieChanges::none()
            .set(removal(self.cookie_names.access, self.access_scope()))
            .set(removal(self.cookie_names.refresh, self.refresh_scope()))
    }
}
