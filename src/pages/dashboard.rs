//! `/dashboard`: how the server recognised the request that rendered this page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{devices::When, layout::SignInRequired};
use crate::{
    api::{SwitchMode, dashboard},
    model::{
        ClaimView, DeviceView, Evidence, JwtEvidence, RecognitionReport, SessionEvidence, Viewer,
    },
};

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
        </section>
        {match evidence {
            Evidence::Session(evidence) => {
                view! { <SessionSteps evidence viewer device /> }.into_any()
            }
            Evidence::Jwt(evidence) => view! { <JwtSteps evidence viewer device /> }.into_any(),
        }}
    }
}

#[component]
fn SessionSteps(evidence: SessionEvidence, viewer: Viewer, device: DeviceView) -> impl IntoView {
    let SessionEvidence {
        cookie_name,
        cookie_bytes,
        fingerprint,
        idle_timeout,
        absolute_expiry,
    } = evidence;
    view! {
        <section class="card">
            <h2>"How the server recognised this request"</h2>
            <ol class="steps">
                <li>
                    "Your browser sent the cookie " <code>{cookie_name}</code> " ("
                    <span data-testid="cookie-bytes">{cookie_bytes}</span>
                    " bytes). It holds a random 128-bit session ID and nothing else: no name, no "
                    "role, no expiry. JavaScript cannot read it (HttpOnly)."
                </li>
                <li>
                    "The server hashed that ID with SHA-256 (fingerprint "
                    <code data-testid="fingerprint">{fingerprint}</code>
                    "…) and looked the hash up in its sessions table: one indexed read. The "
                    "table stores only hashes, so a copy of it lets nobody ride a session."
                </li>
                <li>
                    "The row it found says who you are: " <strong>{viewer.username}</strong> ", on "
                    {device.device.clone()} ", signed in " <When moment=device.created.clone() />
                    ", last seen " <When moment=device.last_active.clone() /> "."
                </li>
                <li>
                    "The row is live, so this request is yours. Delete the row, from the "
                    <a href="/devices">"devices page"</a> " or by signing out, and this cookie is "
                    "worthless on its very next request."
                </li>
            </ol>
        </section>
        <section class="card">
            <h2>"What the server keeps for this session"</h2>
            <DeviceFacts device=device.clone()>
                <dt>"Last seen"</dt>
                <dd>
                    <When moment=device.last_active />
                    <span class="hint">" (written at most once a minute)"</span>
                </dd>
                <dt>"Expires"</dt>
                <dd>
                    <When moment=device.expires />
                    <span class="hint">{format!(" (after {idle_timeout} without use)")}</span>
                </dd>
                <dt>"Ends at the latest"</dt>
                <dd><When moment=absolute_expiry /></dd>
            </DeviceFacts>
        </section>
    }
}

#[component]
fn JwtSteps(evidence: JwtEvidence, viewer: Viewer, device: DeviceView) -> impl IntoView {
    let JwtEvidence {
        carried_in,
        token_bytes,
        header,
        claims,
        signature_start,
        expires,
        access_ttl,
        refresh_ttl,
    } = evidence;
    let kid = header
        .iter()
        .find(|field| field.name == "kid")
        .map(|field| field.value.clone())
        .unwrap_or_default();
    view! {
        <section class="card">
            <h2>"How the server recognised this request"</h2>
            <ol class="steps">
                <li>
                    "Your browser sent an access token in " {carried_in} " ("
                    <span data-testid="token-bytes">{token_bytes}</span>
                    " bytes). It is a JWT: a header, a payload and a signature, each base64url. "
                    "Anyone holding it can read it; only the server can make one."
                </li>
                <li>
                    "The server checked the signature with key " <code>{kid}</code>
                    " (HS256), then the issuer, the audience and the expiry. "
                    <strong>"No database read:"</strong>
                    " your name and role are in the token itself."
                </li>
                <li>
                    "The token expires " <When moment=expires /> " (it lives " {access_ttl}
                    "). Then your browser sends its refresh token, an HttpOnly cookie that goes "
                    "only to " <code>"/auth/refresh"</code>
                    ", and gets a new pair; the old refresh token is spent."
                </li>
                <li>
                    "Signing this device out from the " <a href="/devices">"devices page"</a>
                    " revokes its refresh tokens at once, but this access token keeps working "
                    "until it expires: the server has no row to delete."
                </li>
            </ol>
        </section>
        <section class="card">
            <h2>"The access token, decoded"</h2>
            <h3 class="part-title">"Header"</h3>
            <ClaimTable fields=header />
            <h3 class="part-title">"Payload"</h3>
            <ClaimTable fields=claims />
            <h3 class="part-title">"Signature"</h3>
            <p>
                <code>{signature_start} "…"</code>
                " HMAC-SHA-256 of header and payload with the server's secret."
            </p>
        </section>
        <section class="card">
            <h2>"What the server keeps for this device"</h2>
            <p class="lead">
                "A refresh-token family: the hashes of " {viewer.username}
                "'s refresh tokens for this device, each used once. Nothing about the access token."
            </p>
            <DeviceFacts device=device.clone()>
                <dt>"Last refresh"</dt>
                <dd><When moment=device.last_active /></dd>
                <dt>"Refresh token expires"</dt>
                <dd>
                    <When moment=device.expires />
                    <span class="hint">{format!(" (each refresh grants {refresh_ttl} more)")}</span>
                </dd>
            </DeviceFacts>
        </section>
    }
}

/// What the server knows of a device in either mode, then what `children` add.
#[component]
fn DeviceFacts(device: DeviceView, children: Children) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Device"</dt>
            <dd>{device.device}</dd>
            <dt>"IP address"</dt>
            <dd>{device.ip}</dd>
            <dt>"Signed in"</dt>
            <dd><When moment=device.created /></dd>
            {children()}
        </dl>
    }
}

#[component]
fn ClaimTable(fields: Vec<ClaimView>) -> impl IntoView {
    view! {
        <table class="claims">
            <tbody>
                {fields
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
