//! Form pieces: a labelled field with its error, and the form's own error.

use leptos::prelude::*;

use crate::{
    api::{preferred_mode, remember_me_terms},
    error::AppError,
    model::{Lifetime, Mode, RememberTerms, describe_seconds},
};

/// The error of the last submission of a form, if it failed.
pub fn last_error<T>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<Option<AppError>>
where
    T: Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err))
}

/// The message for one field in `error`, if it names that field.
pub fn field_error(error: Signal<Option<AppError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        error
            .get()
            .and_then(|error| error.field(field).map(str::to_owned))
    })
}

/// A labelled input; its error, when there is one, is announced and tied to it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("{name}-input");
    let hint_id = format!("{name}-hint");
    let error_id = format!("{name}-error");
    let described_by = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.get().is_some() {
                ids.push(error_id.clone());
            }
            ids.join(" ")
        }
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                autocomplete=autocomplete
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described_by
            />
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <p class="field-error" id=error_id data-testid=format!("{name}-error")>
                {move || error.get()}
            </p>
        </div>
    }
}

/// The error of a whole form submission.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            let message = match error {
                // Where to act on it: a device already signed in can end another there.
                AppError::DeviceLimit { limit } => view! {
                    {format!(
                        "This account may be signed in on at most {limit} devices at once, and it \
                         is. Sign one of them out on the "
                    )}
                    <a href="/devices">"devices page"</a>
                    " of a device that is signed in, or raise the limit on its "
                    <a href="/account">"account page"</a>
                    "."
                }
                .into_any(),
                error => error.form_message().into_any(),
            };
            view! {
                <div class="alert" role="alert" data-testid="form-error">
                    {message}
                </div>
            }
        })
    }
}

/// The choice between the two ways of being recognised; defaults to this browser's last choice.
#[component]
pub fn ModeChoice() -> impl IntoView {
    let preferred = Resource::new(|| (), |_| preferred_mode());
    view! {
        <fieldset class="mode-choice">
            <legend>"Recognise me by"</legend>
            <Transition fallback=|| ()>
                {move || {
                    preferred
                        .get()
                        .map(|preferred| {
                            let preferred = preferred.unwrap_or(Mode::Session);
                            [
                                (Mode::Session, "the server keeps a session row; the cookie only names it"),
                                (Mode::Jwt, "a signed access token, renewed by a rotating refresh token"),
                            ]
                                .into_iter()
                                .map(|(mode, how)| {
                                    view! {
                                        <label class="choice" data-mode=mode.key()>
                                            <input
                                                type="radio"
                                                name="mode"
                                                value=mode.key()
                                                checked=mode == preferred
                                            />
                                            <span>
                                                <strong>{mode.label()}</strong>
                                                <span class="hint">{how}</span>
                                            </span>
                                        </label>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </Transition>
        </fieldset>
    }
}

/// The "Remember me" box, and what ticking it changes on this server.
#[component]
pub fn RememberChoice() -> impl IntoView {
    let terms = Resource::new(|| (), |_| remember_me_terms());
    view! {
        <div class="field remember">
            <label class="choice" for="remember-input">
                <input
                    id="remember-input"
                    type="checkbox"
                    name="remember"
                    value="on"
                    aria-describedby="remember-hint"
                />
                <span>
                    <strong>"Remember me on this device"</strong>
                </span>
            </label>
            <p class="hint" id="remember-hint" data-testid="remember-hint">
                <Transition fallback=|| ()>
                    {move || terms.get().and_then(Result::ok).map(terms_words)}
                </Transition>
            </p>
        </div>
    }
}

/// "Ticked: ... Unticked: ...", from this server's settings.
fn terms_words(terms: RememberTerms) -> String {
    let limits = |lifetime: Lifetime| {
        format!(
            "after {} unused, {} at most",
            describe_seconds(lifetime.idle),
            describe_seconds(lifetime.absolute)
        )
    };
    let RememberTerms { session, jwt } = terms;
    let jwt_differs = |choice: fn(&crate::model::Lifetimes) -> Lifetime| {
        if choice(&session) == choice(&jwt) {
            String::new()
        } else {
            format!(" (a JWT device: {})", limits(choice(&jwt)))
        }
    };
    if session.strict {
        return format!(
            "This server follows the strict policy (OWASP ASVS level 2): it signs you out {} \
             either way{}. Ticked, the cookie survives closing the browser.",
            limits(session.remembered),
            jwt_differs(|lifetimes| lifetimes.remembered)
        );
    }
    format!(
        "Ticked: you stay signed in after the browser closes, and the server signs you out {}{}. \
         Unticked: the browser forgets you when it closes, and the server signs you out {}{}.",
        limits(session.remembered),
        jwt_differs(|lifetimes| lifetimes.remembered),
        limits(session.unremembered),
        jwt_differs(|lifetimes| lifetimes.unremembered),
    )
}
