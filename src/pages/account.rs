//! `/account`: who you are here, and changing your password.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    devices::When,
    form::{Field, FormError, field_error, last_error},
    layout::SignInRequired,
};
use crate::{
    api::{ChangePassword, SetDevicePolicy, account},
    model::{AccountView, DEVICE_LIMITS, DevicePolicy, PasswordChanged, WhenFull},
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let set_policy = ServerAction::<SetDevicePolicy>::new();
    let account = Resource::new(
        move || (change.version().get(), set_policy.version().get()),
        |_| account(),
    );
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
                            Ok(account) => {
                                let policy = account.device_policy;
                                view! {
                                    <Facts account />
                                    <PolicyForm action=set_policy policy />
                                }
                                    .into_any()
                            }
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
                {match (account.password_changed, account.last_password_change) {
                    // The entry is written in the same request as the change, a moment later.
                    (Some(changed), Some(entry)) if (entry.at.unix - changed.unix).abs() <= 60 => {
                        view! {
                            <When moment=changed />
                            ": "
                            {entry.summary}
                        }
                            .into_any()
                    }
                    (Some(changed), _) => view! { <When moment=changed /> }.into_any(),
                    (None, _) => "never, since the account was created".into_any(),
                }}
            </dd>
        </dl>
        <p class="aside">
            <a href="/activity">"Activity log"</a>
            ": every sign-in, sign-out and change to this account."
        </p>
    }
}

/// How many devices at once: the articles' "log the PC out when the phone logs in" and the
/// streaming service's screen limit.
#[component]
fn PolicyForm(action: ServerAction<SetDevicePolicy>, policy: DevicePolicy) -> impl IntoView {
    let error = last_error(action.value());
    let limit = match policy {
        DevicePolicy::AtMost { limit, .. } => limit,
        _ => 3,
    };
    let when_full = policy.when_full();
    let choice = |name: &'static str, value: &'static str, label: &'static str, checked: bool| {
        view! {
            <label class="choice">
                <input type="radio" name=name value=value checked=checked />
                <span>{label}</span>
            </label>
        }
    };
    view! {
        <h2 class="part-title">"Devices at once"</h2>
        <p data-testid="device-policy">{policy.describe()}</p>
        <ActionForm action=action attr:class="form">
            <FormError error=error />
            <fieldset class="mode-choice">
                <legend>"How many devices may be signed in at once"</legend>
                {choice("policy", "unlimited", "Any number", policy == DevicePolicy::Unlimited)}
                {choice(
                    "policy",
                    "one",
                    "One: signing in anywhere signs every other device out",
                    policy == DevicePolicy::OneDevice,
                )}
                {choice(
                    "policy",
                    "at_most",
                    "At most a number of devices",
                    matches!(policy, DevicePolicy::AtMost { .. }),
                )}
            </fieldset>
            <div class="field">
                <label for="limit-input">"The number, for “at most”"</label>
                <input
                    id="limit-input"
                    type="number"
                    name="limit"
                    min=*DEVICE_LIMITS.start()
                    max=*DEVICE_LIMITS.end()
                    value=limit
                />
                <p class="field-error" data-testid="limit-error">
                    {move || error.get().and_then(|error| error.field("limit").map(str::to_owned))}
                </p>
            </div>
            <fieldset class="mode-choice">
                <legend>"When a sign-in would go beyond it"</legend>
                {choice(
                    "when_full",
                    WhenFull::EndLeastRecent.key(),
                    "Sign the least recently active device out",
                    when_full == WhenFull::EndLeastRecent,
                )}
                {choice(
                    "when_full",
                    WhenFull::Refuse.key(),
                    "Refuse the new sign-in",
                    when_full == WhenFull::Refuse,
                )}
            </fieldset>
            <p class="hint">
                "Devices signed in now stay until the next sign-in. A cookie session ended by the "
                "limit is out at its next request and told why; a JWT device cannot renew, and "
                "keeps its access token until it expires."
            </p>
            <button
                type="submit"
                class="button"
                data-testid="save-device-policy"
                disabled=move || action.pending().get()
            >
                "Save"
            </button>
        </ActionForm>
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
