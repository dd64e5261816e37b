//! `/account`: who you are here, and changing your password.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    devices::When,
    form::{Field, FormError, field_error, last_error},
    layout::SignInRequired,
};
use crate::{
    api::{ChangePassword, account},
    model::{AccountView, PasswordChanged},
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let account = Resource::new(move || change.version().get(), |_| account());
    let error = last_error(change.value());
    view! {
        <Title text="Account" />
        <section class="card narrow">
            <h1>"Your account"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    account
                        .get()
                        .map(|account| match account {
                            Ok(account) => view! { <Facts account /> }.into_any(),
                            Err(error) => view! { <SignInRequired error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
        <section class="card narrow">
            <h2>"Change your password"</h2>
            <p>
                "Every other device you are signed in on is signed out, in both modes, and this "
                "browser gets fresh credentials. A JWT device cannot be called back at once: its "
                "last access token keeps working until it expires, and you will see until when."
            </p>
            {move || {
                change
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|changed| view! { <ChangeNotice changed /> })
            }}
            <ActionForm action=change attr:class="form">
                <FormError error=error />
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(error, "current_password")
                />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    hint="8–128 characters. Any characters, spaces and emoji included."
                    error=field_error(error, "new_password")
                />
                <button
                    type="submit"
                    class="button"
                    data-testid="change-password"
                    disabled=move || change.pending().get()
                >
                    "Change password"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Facts(account: AccountView) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Username"</dt>
            <dd data-testid="account-username">{account.username}</dd>
            <dt>"Signed in here by"</dt>
            <dd>{account.mode.label()}</dd>
            <dt>"Account created"</dt>
            <dd><When moment=account.created /></dd>
            <dt>"Password last changed"</dt>
            <dd data-testid="last-password-change">
                {match account.last_password_change {
                    Some(entry) => {
                        view! {
                            <When moment=entry.at />
                            ": "
                            {entry.summary}
                        }
                            .into_any()
                    }
                    None => "never, since the account was created".into_any(),
                }}
            </dd>
        </dl>
        <p class="aside">
            <a href="/activity">"Activity log"</a>
            ": every sign-in, sign-out and change to this account."
        </p>
    }
}

/// What a password change did, said plainly.
#[component]
fn ChangeNotice(changed: PasswordChanged) -> impl IntoView {
    let devices = match changed.ended {
        0 => "No other device was signed in.".to_owned(),
        1 => "1 other device is signed out.".to_owned(),
        n => format!("{n} other devices are signed out."),
    };
    let tail = changed.access_valid_until.map(|until| {
        format!(
            " The JWT devices among them cannot renew, but the access token each already holds \
             stays valid until {} ({}).",
            until.utc, until.relative
        )
    });
    view! {
        <p class="notice" role="status" data-testid="password-changed">
            "Password changed. " {devices} {tail}
        </p>
    }
}
