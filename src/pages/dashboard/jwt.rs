//! The dashboard's JWT steps: the token's three parts, its claims, a live countdown to `exp`,
//! and the refresh family's rotation history.

use leptos::prelude::*;

use super::{ClaimTable, DeviceFacts, StoredAndNot, explain_claim};
use crate::{
    model::{CarriedIn, DeviceView, JwtEvidence, Revocation, RotationView, TokenStatus},
    pages::devices::When,
};

#[component]
pub(super) fn JwtSteps(
    evidence: JwtEvidence,
    device: DeviceView,
    server_now: i64,
) -> impl IntoView {
    let JwtEvidence {
        carried_in,
        token_bytes,
        header,
        claims,
        header_start,
        payload_start,
        signature_start,
        expires,
        access_ttl,
        refresh_ttl,
        history,
        revocation,
    } = evidence;
    let algorithm = header
        .iter()
        .find(|field| field.name == "alg")
        .map(|field| field.value.trim_matches('"').to_owned())
        .unwrap_or_default();
    let signed_with = if algorithm == "EdDSA" {
        " Ed25519 signature of header and payload, made with the server's private key and \
         checked with its public key, which anyone can fetch at /.well-known/jwks.json: another \
         service verifies it without the power to make one. Change one "
    } else {
        " HMAC-SHA-256 of header and payload with the server's secret. Change one "
    };
    let kid = header
        .iter()
        .find(|field| field.name == "kid")
        .map(|field| field.value.clone())
        .unwrap_or_default();
    let revocation_step = match revocation {
        Revocation::Pure => "No database read: your name and role are in the token itself.",
        Revocation::SessionCheck => {
            "Then, because this server runs the session-check setting, one indexed read: is the \
             token's refresh family (sid) still live?"
        }
        Revocation::Denylist => {
            "Then, because this server runs the denylist setting, a lookup of the token's jti \
             in memory: no database read."
        }
    };
    let stored = vec![
        "a refresh family for this device: device, IP, sign-in and last-refresh times",
        "the SHA-256 of each refresh token, with its parent, times and the id (jti) of the \
         access token issued with it",
    ];
    let not_stored = vec![
        "the access token: it is checked by its signature",
        "the refresh tokens themselves: only their hashes",
        "your name and role per request: they travel in the token, signed",
    ];
    view! {
        <section class="card">
            <h2>"How the server recognised this request"</h2>
            <ol class="steps">
                <li>
                    "Your browser sent an access token in " {carried_in_words(&carried_in)} " ("
                    <span data-testid="token-bytes">{token_bytes}</span>
                    " bytes). It is a JWT: a header, a payload and a signature, each base64url:"
                    <div class="jwt" data-testid="jwt-parts">
                        <span class="jwt-header">{header_start} "…"</span>
                        "."
                        <span class="jwt-payload">{payload_start} "…"</span>
                        "."
                        <span class="jwt-signature">{signature_start.clone()} "…"</span>
                    </div>
                    "Anyone holding it can read it; only the server can make one."
                </li>
                <li>
                    "The server checked the signature with key " <code>{kid}</code>
                    {format!(" ({algorithm}), then issuer, audience and expiry. ")}
                    {revocation_step}
                </li>
                <li>
                    "The token " <Countdown exp=expires.unix server_now />
                    " (it lives " {access_ttl}
                    "). Then your browser sends its refresh token, an HttpOnly cookie that goes "
                    "only to " <code>"/auth/refresh"</code>
                    ", and gets a new pair; the old refresh token is spent."
                </li>
                <li>
                    "Signing this device out from the " <a href="/devices">"devices page"</a>
                    {match revocation {
                        Revocation::Pure => {
                            " revokes its refresh tokens at once, but this access token keeps \
                             working until it expires."
                        }
                        Revocation::SessionCheck => {
                            " revokes its refresh family, and the next request's check finds it."
                        }
                        Revocation::Denylist => {
                            " puts this token's jti on this server's denylist: refused at once."
                        }
                    }}
                </li>
            </ol>
        </section>
        <section class="card">
            <h2>"The access token, decoded"</h2>
            <h3 class="part-title jwt-header">"Header"</h3>
            <ClaimTable rows=header.into_iter().map(explain_claim).collect() />
            <h3 class="part-title jwt-payload">"Payload"</h3>
            <ClaimTable rows=claims.into_iter().map(explain_claim).collect() />
            <h3 class="part-title jwt-signature">"Signature"</h3>
            <p>
                <code class="jwt-signature">{signature_start} "…"</code>
                {signed_with}
                "character of either and it no longer matches: try it in the "
                <a href="/playground">"playground"</a> "."
            </p>
        </section>
        <section class="card">
            <h2>"What the server keeps for this device"</h2>
            <DeviceFacts device=device.clone()>
                <dt>"Last refresh"</dt>
                <dd><When moment=device.last_active.clone() /></dd>
                <dt>"Refresh token expires"</dt>
                <dd>
                    <When moment=device.expires.clone() />
                    <span class="hint">{format!(" (each refresh grants {refresh_ttl} more)")}</span>
                </dd>
            </DeviceFacts>
            <h3 class="part-title">"Rotation history"</h3>
            <RotationTable history />
            <StoredAndNot stored not_stored />
        </section>
    }
}

/// "expires in 4 min 07 s", ticking in the browser. The server's clock at render time is the
/// starting point, so the server-rendered text and the first hydrated text agree.
#[component]
fn Countdown(exp: i64, server_now: i64) -> impl IntoView {
    let (now, set_now) = signal(server_now);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let browser_now = || (js_sys::Date::now() / 1000.0) as i64;
            let skew = server_now - browser_now();
            let ticking = set_interval_with_handle(
                move || set_now.set(browser_now() + skew),
                std::time::Duration::from_millis(250),
            )
            .ok();
            on_cleanup(move || {
                if let Some(ticking) = ticking {
                    ticking.clear();
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = set_now;
    });
    view! {
        <span class="countdown" data-testid="countdown" data-exp=exp>
            {move || countdown_text(exp - now.get())}
        </span>
    }
}

fn countdown_text(left: i64) -> String {
    if left > 0 {
        let (minutes, seconds) = (left / 60, left % 60);
        if minutes > 0 {
            format!("expires in {minutes} min {seconds:02} s")
        } else {
            format!("expires in {seconds} s")
        }
    } else {
        format!("expired {} s ago: the next request renews it", -left)
    }
}

#[component]
fn RotationTable(history: Vec<RotationView>) -> impl IntoView {
    view! {
        <table class="claims history" data-testid="rotation-history">
            <thead>
                <tr>
                    <th scope="col">"Refresh token"</th>
                    <th scope="col">"Issued"</th>
                    <th scope="col">"To IP"</th>
                    <th scope="col">"Now"</th>
                </tr>
            </thead>
            <tbody>
                {history
                    .into_iter()
                    .enumerate()
                    .map(|(index, token)| {
                        view! {
                            <tr>
                                <td class="device-name">
                                    {format!(
                                        "#{} ({})",
                                        index + 1,
                                        if token.at_sign_in { "sign-in" } else { "rotation" },
                                    )}
                                </td>
                                <td>
                                    <span class="fact-label">"Issued"</span>
                                    <When moment=token.issued />
                                </td>
                                <td>
                                    <span class="fact-label">"To IP"</span>
                                    <code>{token.ip}</code>
                                </td>
                                <td>
                                    <span class="fact-label">"Now"</span>
                                    {status_words(token.status)}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn status_words(status: TokenStatus) -> String {
    match status {
        TokenStatus::Current => "current".to_owned(),
        TokenStatus::Used { at } => format!("used {}", at.relative),
        TokenStatus::Revoked { at } => format!("revoked {}", at.relative),
        TokenStatus::Expired => "expired".to_owned(),
    }
}

fn carried_in_words(carried_in: &CarriedIn) -> String {
    match carried_in {
        CarriedIn::Cookie { name } => format!("the cookie {name}"),
        CarriedIn::AuthorizationHeader => "the Authorization header".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::countdown_text;

    #[test]
    fn the_countdown_reads_minutes_then_seconds_then_expiry() {
        assert_eq!(countdown_text(247), "expires in 4 min 07 s");
        assert_eq!(countdown_text(9), "expires in 9 s");
        assert_eq!(
            countdown_text(0),
            "expired 0 s ago: the next request renews it"
        );
        assert_eq!(
            countdown_text(-3),
            "expired 3 s ago: the next request renews it"
        );
    }
}
