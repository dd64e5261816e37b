//! `/`: what ticketbooth is, and the two modes in a few sentences.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Sessions and JWTs, side by side" />
        <section class="hero">
            <h1>"Two ways a server tells its clients apart"</h1>
            <p class="lead">
                "ticketbooth is a small but real sign-in system. It recognises you either by a "
                "cookie and a server-side session or by JSON Web Tokens, and shows you what each "
                "one costs: how fast a sign-out takes effect, what travels with every request, "
                "what the server has to remember."
            </p>
            <p class="actions">
                <a class="button" href="/signup">"Create an account"</a>
                <a class="button secondary" href="/login">"Log in"</a>
            </p>
        </section>
        <section class="modes">
            <article class="card mode-card" data-mode="session">
                <h2>"Cookie + server-side session"</h2>
                <p>
                    "The server keeps half of the ticket, a row in its sessions table; your browser "
                    "keeps the other half, a random session ID in an HttpOnly cookie. Every request "
                    "is checked against the table, so the server can end any session at once."
                </p>
                <p class="available">
                    "Choose it on the login page; switch any time from the header."
                </p>
            </article>
            <article class="card mode-card" data-mode="jwt">
                <h2>"JSON Web Tokens"</h2>
                <p>
                    "The server hands out a whole signed ticket: a short-lived access token, "
                    "checked by its signature alone, plus a long-lived refresh token whose hash it "
                    "stores and rotates. No lookup per request, but a stolen access token lives "
                    "until it expires, and a kill only stops the next refresh."
                </p>
                <p class="available">
                    "Choose it on the login page; scripts get tokens from " <code>"POST /api/token"</code>
                    "."
                </p>
            </article>
        </section>
        <section class="card">
            <h2>"What you can try"</h2>
            <ol class="steps">
                <li>"Sign up, then open the " <a href="/dashboard">"dashboard"</a>
                    ": it explains how the server recognised that very request."</li>
                <li>"Log in from a second browser, then open " <a href="/devices">"devices"</a>
                    " and sign the other one out. Its next request finds no session."</li>
                <li>"Do the same with the second browser in JWT mode: it stays in until its access "
                    "token expires, and the devices page tells you when that is."</li>
                <li>"Open " <a href="/compare">"compare"</a>
                    " and generate load: both modes measured side by side on this server, with "
                    "what each JWT revocation setting costs and how fast a kill takes effect."</li>
                <li>"In JWT mode, open the " <a href="/playground">"tamper playground"</a>
                    ": make yourself admin, set alg to none, and watch the server say no."</li>
            </ol>
        </section>
    }
}
