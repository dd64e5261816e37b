//! `/login`: username and password; afterwards the page the user was going to.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{Field, FormError, ModeChoice, RememberChoice, field_error, last_error};
use crate::{api::LogIn, model::RevocationReason};

#[component]
pub fn LogInPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = last_error(action.value());
    view! {
        <Title text="Log in" />
        <section class="card narrow">
            <h1>"Log in"</h1>
            {move || {
                query
                    .read()
                    .get("signed_out")
                    .and_then(|key| RevocationReason::from_key(&key))
                    .map(|reason| {
                        view! {
                            <p class="alert" role="status" data-testid="signed-out-why">
                                {format!("You were signed out because {}.", reason.because())}
                            </p>
                        }
                    })
            }}
            {move || {
                let next = next();
                (!next.is_empty())
                    .then(|| {
                        view! {
                            <p class="notice">"Log in to continue to " <code>{next}</code> "."</p>
                        }
                    })
            }}
            <ActionForm action=action attr:class="form">
                <FormError error=error />
                <input type="hidden" name="next" value=next />
                <Field
                    label="Username"
                    name="username"
                    autocomplete="username"
                    error=field_error(error, "username")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="current-password"
                    error=field_error(error, "password")
                />
                <ModeChoice />
                <RememberChoice />
                <button type="submit" class="button" disabled=move || action.pending().get()>
                    "Log in"
                </button>
            </ActionForm>
            <p class="aside">"No account yet? " <a href="/signup">"Sign up"</a></p>
        </section>
    }
}
