//! `/dashboard`: how the server recognised the request that rendered this page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{devices::When, layout::SignInRequired};
use crate::{api::dashboard, model::RecognitionReport};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| dashboard());
    view! {
        <Title text="Dashboard" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                report
                    .get()
                    .map(|report| match report {
                        Ok(report) => view! { <SessionReport report /> }.into_any(),
                        Err(error) => view! { <SignInRequired error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn SessionReport(report: RecognitionReport) -> impl IntoView {
    let RecognitionReport {
        viewer,
        cookie_name,
        cookie_bytes,
        fingerprint,
        device,
        idle_timeout,
        absolute_expiry,
    } = report;
    view! {
        <section class="card">
            <h1>"Dashboard"</h1>
            <p class="lead">
                "You are " <strong data-testid="dashboard-user">{viewer.username.clone()}</strong>
                ", recognised by " <span class="mode-badge" data-mode=viewer.mode.key()>
                    {viewer.mode.label()}
                </span> "."
            </p>
        </section>
        <section class="card">
            <h2>"How the server recognised this request"</h2>
            <ol class="steps">
                <li>
                    "Your browser sent the cookie " <code>{cookie_name.clone()}</code> " ("
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
            <dl class="facts">
                <dt>"Device"</dt>
                <dd>{device.device}</dd>
                <dt>"IP address"</dt>
                <dd>{device.ip}</dd>
                <dt>"Signed in"</dt>
                <dd><When moment=device.created /></dd>
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
            </dl>
        </section>
    }
}
