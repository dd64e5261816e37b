//! `/dashboard`: how the server recognised the request that rendered this page, what that cost,
//! and what the server keeps, and does not keep, for it.

use leptos::prelude::*;
use leptos_meta::Title;

mod jwt;

use super::{devices::When, layout::SignInRequired};
use crate::{
    api::{SwitchMode, dashboard},
    model::{
        ClaimView, DeviceView, Evidence, RecognitionCost, RecognitionReport, SessionEvidence,
        SessionStoreKind,
    },
};
use jwt::JwtSteps;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let switch = expect_context::<ServerAction<SwitchMode>>();
    let report = Resource::new(move || switch.version().get(), |_| dashboard());
    view! {
        <Title text="Dashboard" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                report
                    .get()
                    .map(|report| match report {
                        Ok(report) => view! { <Report report /> }.into_any(),
                        Err(error) => view! { <SignInRequired error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Report(report: RecognitionReport) -> impl IntoView {
    let RecognitionReport {
        viewer,
        cost,
        server_now,
        device,
        evidence,
    } = report;
    view! {
        <section class="card">
            <h1>"Dashboard"</h1>
            <p class="lead">
                "You are " <strong data-testid="dashboard-user">{viewer.username.clone()}</strong>
                ", recognised by "
                <span class="mode-badge" data-mode=viewer.mode.key() data-testid="dashboard-mode">
                    {viewer.mode.label()}
                </span> "."
            </p>
            <CostStrip cost />
        </section>
        {match evidence {
            Evidence::Session(evidence) => {
                view! { <SessionSteps evidence device queries=cost.queries /> }.into_any()
            }
            Evidence::Jwt(evidence) => {
                view! { <JwtSteps evidence device server_now /> }.into_any()
            }
        }}
    }
}

/// What recognising this request cost, as the server measured it.
#[component]
fn CostStrip(cost: RecognitionCost) -> impl IntoView {
    let queries = if cost.queries == 1 {
        "query"
    } else {
        "queries"
    };
    view! {
        <dl class="cost" data-testid="request-cost">
            <div>
                <dt>"Recognising this request took"</dt>
                <dd data-testid="cost-micros">{format!("{:.0} µs", cost.micros)}</dd>
            </div>
            <div>
                <dt>"Database"</dt>
                <dd data-testid="cost-queries">{format!("{} {queries}", cost.queries)}</dd>
            </div>
            <div>
                <dt>"Credentials sent"</dt>
                <dd data-testid="cost-bytes">{format!("{} bytes", cost.credential_bytes)}</dd>
            </div>
            <div>
                <dt>"Both modes side by side"</dt>
                <dd>
                    <a href="/compare">"compare"</a>
                </dd>
            </div>
        </dl>
    }
}

/// `queries`: what recognising this request sent to the database; none for a session in
/// SQLite means the server had kept it from an earlier read.
#[component]
fn SessionSteps(evidence: SessionEvidence, device: DeviceView, queries: u32) -> impl IntoView {
    let SessionEvidence {
        cookie_name,
        cookie_bytes,
        fingerprint,
        idle_timeout,
        absolute_expiry,
        max_age,
        secure,
        store,
    } = evidence;
    let attributes = cookie_attributes(max_age, &idle_timeout, secure);
    let where_kept = match store {
        SessionStoreKind::Sqlite => "a row in the SQLite sessions table",
        SessionStoreKind::Postgres => {
            "a row in the PostgreSQL sessions table, which every server shares"
        }
        SessionStoreKind::Memory => "an entry in this server's memory",
        SessionStoreKind::Redis => "a hash in Redis, the store every server shares",
    };
    view! {
        <section class="card">
            <h2>"How the server recognised this request"</h2>
            <ol class="steps">
                <li>
                    "Your browser sent the cookie " <code>{cookie_name.clone()}</code> " ("
                    <span data-testid="cookie-bytes">{cookie_bytes}</span>
                    " bytes). It holds a random 128-bit session ID and nothing else: no name, no "
                    "role, no expiry."
                </li>
                <li>
                    "The server hashed that ID with SHA-256 (fingerprint "
                    <code data-testid="fingerprint">{fingerprint}</code> "…) and looked it up: "
                    {where_kept} ". The store keeps only hashes, so a copy of it lets nobody "
                    "ride a session."
                </li>
                <li>
                    "What it found says who you are: on " {device.device.clone()} ", signed in "
                    <When moment=device.created.clone() /> ", last seen "
                    <When moment=device.last_active.clone() /> "."
                </li>
                <li>
                    "Delete that entry, from the " <a href="/devices">"devices page"</a>
                    " or by signing out, and this cookie is worthless on its very next request."
                </li>
            </ol>
            {(store == SessionStoreKind::Sqlite && queries == 0)
                .then(|| {
                    view! {
                        <p class="hint" data-testid="session-kept">
                            "This time the server did not read the table: it had read this row "
                            "on an earlier request and kept it in memory, and the change "
                            "counters that every server on this database file shares said that "
                            "nothing had touched it since. A kill, a sign-out or a new role bumps "
                            "them before it answers, so the next request reads the table again."
                        </p>
                    }
                })}
        </section>
        <section class="card">
            <h2>"The cookie"</h2>
            <p>
                "As your browser sent it: " <code>{format!("{cookie_name}=…")}</code> ", "
                {cookie_bytes} " bytes with every request. As the server set it:"
            </p>
            <ClaimTable rows=attributes />
        </section>
        <section class="card">
            <h2>"What the server keeps for this session"</h2>
            <p class="lead" data-testid="session-store">"Kept in " {store.label()} "."</p>
            <DeviceFacts device=device.clone()>
                <dt>"Last seen"</dt>
                <dd>
                    <When moment=device.last_active.clone() />
                    <span class="hint">" (written at most once a minute)"</span>
                </dd>
                <dt>"Expires"</dt>
                <dd>
                    <When moment=device.expires.clone() />
                    <span class="hint">{format!(" (after {idle_timeout} without use)")}</span>
                </dd>
                <dt>"Ends at the latest"</dt>
                <dd><When moment=absolute_expiry /></dd>
            </DeviceFacts>
            <StoredAndNot
                stored=vec![
                    "the SHA-256 of the session ID",
                    "your user id, name and role",
                    "device, IP address, sign-in and last-seen times, expiry",
                ]
                not_stored=vec![
                    "the session ID itself: it exists only in your cookie",
                    "anything in the cookie beyond a random ID: it cannot be read or edited",
                ]
            />
        </section>
    }
}

#[component]
pub(super) fn StoredAndNot(
    stored: Vec<&'static str>,
    not_stored: Vec<&'static str>,
) -> impl IntoView {
    let list = |items: Vec<&'static str>| {
        items
            .into_iter()
            .map(|item| view! { <li>{item}</li> })
            .collect_view()
    };
    view! {
        <div class="stored">
            <div>
                <h3 class="part-title">"Stored on the server"</h3>
                <ul>{list(stored)}</ul>
            </div>
            <div>
                <h3 class="part-title">"Not needed, not stored"</h3>
                <ul>{list(not_stored)}</ul>
            </div>
        </div>
    }
}

/// What the server knows of a device in either mode, then what `children` add.
#[component]
pub(super) fn DeviceFacts(device: DeviceView, children: Children) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Device"</dt>
            <dd>{device.device}</dd>
            <dt>"IP address"</dt>
            <dd>{device.ip}</dd>
            <dt>"Signed in"</dt>
            <dd><When moment=device.created /></dd>
            <dt>"Remember me"</dt>
            <dd data-testid="remembered">
                {if device.remembered { "on" } else { "off" }}
                <span class="hint">{format!(" (ends {})", device.lifetime.describe())}</span>
            </dd>
            {children()}
        </dl>
    }
}

/// One row of a table of names, values and what each means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

/// The session cookie as the server sets it: each attribute and what it does.
fn cookie_attributes(max_age: Option<i64>, idle_timeout: &str, secure: bool) -> Vec<Explained> {
    let row = |name: &str, value: &str, meaning: &str| Explained {
        name: name.into(),
        value: value.into(),
        meaning: meaning.into(),
    };
    vec![
        match max_age {
            Some(max_age) => row(
                "Max-Age",
                &max_age.to_string(),
                "seconds left (“Remember me” was ticked); renewed with last-seen, at most once \
                 a minute",
            ),
            None => row(
                "Max-Age",
                "(none)",
                &format!(
                    "a browser-session cookie (“Remember me” was not ticked): the browser forgets \
                     it when it closes, and the server ends the session after {idle_timeout} \
                     unused all the same"
                ),
            ),
        },
        row("Path", "/", "sent with every request to this site"),
        row("Domain", "(none)", "this host only, never its subdomains"),
        row(
            "HttpOnly",
            "yes",
            "page scripts cannot read it (no theft by XSS)",
        ),
        if secure {
            row("Secure", "yes", "sent over https only")
        } else {
            row(
                "Secure",
                "no",
                "this server is reached over plain http; with an https PUBLIC_URL it is set",
            )
        },
        row(
            "SameSite",
            "Lax",
            "sent when you follow a link here, not with other sites' forms or frames",
        ),
    ]
}

/// A JWT header field or claim, with what it means.
pub(super) fn explain_claim(claim: ClaimView) -> Explained {
    let time = |meaning: &str| {
        claim.at.as_ref().map_or_else(
            || meaning.to_owned(),
            |moment| format!("{meaning}: {} ({})", moment.utc, moment.relative),
        )
    };
    let meaning = match claim.name.as_str() {
        "alg" if claim.value.contains("EdDSA") => "Ed25519: signed with the server's private \
            key, verified with its public key (/.well-known/jwks.json); the only algorithm \
            accepted"
            .to_owned(),
        "alg" => "HMAC-SHA-256 with the server's secret; the only algorithm accepted".to_owned(),
        "typ" => "an access token (RFC 9068); a token of another type is refused".to_owned(),
        "kid" => "which key of the server's key ring signed it".to_owned(),
        "iss" => "who issued it: this server".to_owned(),
        "aud" => "who it is for: this app".to_owned(),
        "sub" => "the user's id".to_owned(),
        "iat" => time("issued"),
        "exp" => time("expires"),
        "jti" => "this token's own random id".to_owned(),
        "sid" => "the refresh family, that is this device: the devices page kills it".to_owned(),
        "name" => "the username, copied in at signing: no lookup needed".to_owned(),
        "role" => "the role, copied in at signing: a change shows at the next refresh".to_owned(),
        _ => "not ours".to_owned(),
    };
    Explained {
        name: claim.name,
        value: claim.value,
        meaning,
    }
}

#[component]
pub(super) fn ClaimTable(rows: Vec<Explained>) -> impl IntoView {
    view! {
        <table class="claims">
            <tbody>
                {rows
                    .into_iter()
                    .map(|field| {
                        let test_id = format!("claim-{}", field.name);
                        view! {
                            <tr>
                                <th scope="row"><code>{field.name}</code></th>
                                <td>
                                    <code class="value" data-testid=test_id>
                                        {field.value}
                                    </code>
                                </td>
                                <td class="meaning">{field.meaning}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
