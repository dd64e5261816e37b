//! `/playground`: edit your own credentials and see the server refuse them, with the reason.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    form::{FormError, last_error},
    layout::SignInRequired,
};
use crate::{
    api::{TryPreset, TrySession, TryToken, own_token_parts},
    error::AppError,
    model::{SessionProbe, TokenParts, TokenPreset, Verdict},
};

#[component]
pub fn PlaygroundPage() -> impl IntoView {
    let parts = Resource::new(|| (), |_| own_token_parts());
    let query = use_query_map();
    // A form posted without JavaScript comes back with its verdict in the URL.
    let verdict_from_url = move || {
        let query = query.read();
        Some(Verdict {
            accepted: query.get("accepted")? == "true",
            code: query.get("code")?,
            reason: query.get("reason")?,
        })
    };
    view! {
        <Title text="Tamper playground" />
        <section class="card">
            <h1>"Tamper playground"</h1>
            <p class="lead">
                "Take your own credentials, change them, and send them to a protected endpoint. "
                "The server answers with a verdict and nothing else: no cookie is set, no token "
                "comes back, so nothing you send here can grant anything."
            </p>
            {move || verdict_from_url().map(|verdict| view! { <VerdictBox verdict /> })}
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                parts
                    .get()
                    .map(|parts| match parts {
                        Ok(parts) => view! { <TokenEditor parts /> }.into_any(),
                        Err(AppError::BadRequest { reason }) => {
                            view! {
                                <section class="card">
                                    <h2>"Your access token"</h2>
                                    <p class="notice" data-testid="needs-jwt">{reason}</p>
                                </section>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <SignInRequired error /> }.into_any(),
                    })
            }}
        </Transition>
        <SessionProbes />
    }
}

#[component]
fn TokenEditor(parts: TokenParts) -> impl IntoView {
    let preset = ServerAction::<TryPreset>::new();
    let custom = ServerAction::<TryToken>::new();
    let preset_error = last_error(preset.value());
    let custom_error = last_error(custom.value());
    view! {
        <section class="card">
            <h2>"Ready-made forgeries of your access token"</h2>
            <div class="presets">
                {TokenPreset::ALL
                    .into_iter()
                    .map(|each| {
                        view! {
                            <ActionForm action=preset attr:class="inline">
                                <input type="hidden" name="preset" value=each.key() />
                                <button
                                    type="submit"
                                    class="button secondary small"
                                    data-testid=format!("preset-{}", each.key())
                                >
                                    {each.label()}
                                </button>
                            </ActionForm>
                        }
                    })
                    .collect_view()}
            </div>
            <FormError error=preset_error />
            <ActionVerdict value=preset.value() test_id="preset-verdict" />
        </section>
        <section class="card">
            <h2>"Edit it yourself"</h2>
            <p class="hint">
                "Header and payload as JSON (anything goes: it is encoded as you type it), and "
                "what to do with the signature your token came with: "
                <code class="jwt-signature">{parts.signature_start} "…"</code>
            </p>
            <ActionForm action=custom attr:class="form">
                <div class="editor">
                    <div class="field">
                        <label for="header-input" class="jwt-header">"Header"</label>
                        <textarea id="header-input" name="header" rows="6" spellcheck="false">
                            {parts.header}
                        </textarea>
                    </div>
                    <div class="field">
                        <label for="payload-input" class="jwt-payload">"Payload"</label>
                        <textarea id="payload-input" name="payload" rows="12" spellcheck="false">
                            {parts.payload}
                        </textarea>
                    </div>
                </div>
                <fieldset class="mode-choice">
                    <legend class="jwt-signature">"Signature"</legend>
                    {[
                        ("keep", "keep it (it signed the original header and payload)"),
                        ("flip_one", "change one character"),
                        ("remove", "remove it"),
                    ]
                        .into_iter()
                        .map(|(value, label)| {
                            view! {
                                <label class="choice">
                                    <input
                                        type="radio"
                                        name="signature"
                                        value=value
                                        checked=value == "keep"
                                    />
                                    <span>{label}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <button type="submit" class="button" data-testid="send-token">
                    "Send to a protected endpoint"
                </button>
            </ActionForm>
            <FormError error=custom_error />
            <ActionVerdict value=custom.value() test_id="custom-verdict" />
        </section>
    }
}

#[component]
fn SessionProbes() -> impl IntoView {
    let probe = ServerAction::<TrySession>::new();
    let error = last_error(probe.value());
    view! {
        <section class="card">
            <h2>"A session cookie that should not work"</h2>
            <p class="hint">
                "The server looks the ID's hash up like any other: a random ID or a signed-out "
                "session's ID finds nothing; a malformed one is not even looked up."
            </p>
            <div class="presets">
                {[
                    (SessionProbe::Random, "random", "a random session ID"),
                    (SessionProbe::Killed, "killed", "a signed-out session's ID"),
                    (SessionProbe::Malformed, "malformed", "not an ID at all"),
                ]
                    .into_iter()
                    .map(|(_, key, label)| {
                        view! {
                            <ActionForm action=probe attr:class="inline">
                                <input type="hidden" name="probe" value=key />
                                <button
                                    type="submit"
                                    class="button secondary small"
                                    data-testid=format!("probe-{key}")
                                >
                                    {label}
                                </button>
                            </ActionForm>
                        }
                    })
                    .collect_view()}
            </div>
            <FormError error />
            <ActionVerdict value=probe.value() test_id="session-verdict" />
        </section>
    }
}

/// The verdict of an action's last call, if it succeeded.
#[component]
fn ActionVerdict(
    value: impl Get<Value = Option<Result<Verdict, AppError>>> + Send + Sync + 'static,
    test_id: &'static str,
) -> impl IntoView {
    move || {
        value.get().and_then(Result::ok).map(|verdict| {
            view! {
                <div data-testid=test_id>
                    <VerdictBox verdict />
                </div>
            }
        })
    }
}

#[component]
fn VerdictBox(verdict: Verdict) -> impl IntoView {
    let code = verdict.code.clone();
    view! {
        <div
            class="verdict"
            id="verdict"
            role="status"
            data-accepted=verdict.accepted.to_string()
            data-code=code
        >
            <strong>{if verdict.accepted { "Accepted" } else { "Refused" }}</strong>
            " " <code>{verdict.code}</code> " " {verdict.reason}
        </div>
    }
}
