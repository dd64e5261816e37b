//! `/signup`: choose a username and a password; afterwards the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

use super::form::{Field, FormError, ModeChoice, RememberChoice, field_error, last_error};
use crate::api::SignUp;

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = last_error(action.value());
    view! {
        <Title text="Sign up" />
        <section class="card narrow">
            <h1>"Create an account"</h1>
            <ActionForm action=action attr:class="form">
                <FormError error=error />
                <Field
                    label="Username"
                    name="username"
                    autocomplete="username"
                    hint="3–32 characters: letters a–z, digits, “_”, “.” and “-”. Letter case does not matter."
                    error=field_error(error, "username")
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    hint="8–128 characters. Any characters, spaces and emoji included."
                    error=field_error(error, "password")
                />
                <ModeChoice />
                <RememberChoice />
                <button type="submit" class="button" disabled=move || action.pending().get()>
                    "Sign up"
                </button>
            </ActionForm>
            <p class="aside">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}
