//! What every page shares: the header, the not-found page, and the sign-in redirect.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_location};

use crate::{
    api::{LogOut, SwitchMode, current_viewer, instance_name},
    error::AppError,
    model::{Mode, Viewer},
    nav::{login_url, login_url_signed_out},
};

/// App name, who is signed in and how, and the way out.
///
/// The server renders it from the request it is answering, which it has already recognised,
/// and hands the browser what it showed with the page: no resource, no `<Transition>`, nothing
/// to wait for. Asynchronous rendering of the signed-in header cost a signed-in page a tenth of
/// its throughput (`perf`, `make bench-http`). After each navigation and mode switch the browser
/// asks again, and keeps showing the last answer until the new one arrives.
#[component]
pub fn Header() -> impl IntoView {
    let location = use_location();
    let switch = expect_context::<ServerAction<SwitchMode>>();
    let rendered = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            crate::api::header_facts_of_this_request()
        }
        #[cfg(not(feature = "ssr"))]
        {
            // Only if the server's answer could not be read: the first navigation corrects it.
            crate::model::HeaderFacts::default()
        }
    })
    .into_inner();
    let viewer = RwSignal::new(rendered.viewer);
    // Behind a round-robin balancer, each answer may come from another server.
    let instance = RwSignal::new(rendered.instance);
    ask_again_after_each_navigation(
        move || (location.pathname.get(), switch.version().get()),
        current_viewer,
        move |answer| viewer.set(answer.ok().flatten()),
    );
    ask_again_after_each_navigation(
        move || (location.pathname.get(), switch.version().get()),
        instance_name,
        move |answer| instance.set(answer.ok()),
    );
    let log_out = ServerAction::<LogOut>::new();
    // The header's two forms post to their server functions without JavaScript; with it, one
    // listener here sends them through the actions instead, so that the page stays.
    let submit = move |ev: leptos::ev::SubmitEvent| {
        let form = event_target::<leptos::web_sys::Element>(&ev);
        let action = form.get_attribute("action").unwrap_or_default();
        if action == SwitchMode::url() {
            let to = form
                .get_attribute("data-to")
                .as_deref()
                .and_then(Mode::from_key);
            if let Some(to) = to {
                ev.prevent_default();
                switch.dispatch(SwitchMode { to });
            }
        } else if action == LogOut::url() {
            ev.prevent_default();
            log_out.dispatch(LogOut {});
        }
    };
    view! {
        <header class="site-header" on:submit=submit>
            <div class="bar">
                <div class="brand-line">
                <a class="brand" href="/">
                    <span class="logo" aria-hidden="true">"◐"</span>
                    "ticketbooth"
                </a>
                {move || {
                    instance
                        .get()
                        .map(|name| {
                            view! {
                                <span
                                    class="instance-badge"
                                    data-testid="instance"
                                    title="The server that answered"
                                >
                                    <span class="visually-hidden">"Answered by server "</span>
                                    {name}
                                </span>
                            }
                        })
                }}
                </div>
                    {move || {
                        viewer
                            .get()
                            .map(|viewer| {
                                    view! {
                                        <nav class="nav" aria-label="Account">
                                            <a href="/dashboard">"Dashboard"</a>
                                            <a href="/devices">"Devices"</a>
                                            <a href="/compare">"Compare"</a>
                                            <a href="/cluster">"Cluster"</a>
                                            <a href="/playground">"Playground"</a>
                                            <a href="/account">"Account"</a>
                                            {viewer
                                                .is_admin
                                                .then(|| view! { <a href="/admin">"Admin"</a> })}
                                            {account_group(&viewer)}
                                        </nav>
                                    }
                                        .into_any()
                            })
                            .unwrap_or_else(|| {
                                view! {
                                    <nav class="nav" aria-label="Account">
                                        <a href="/compare">"Compare"</a>
                                        <a href="/login">"Log in"</a>
                                        <a class="button" href="/signup">
                                            "Sign up"
                                        </a>
                                    </nav>
                                }
                                    .into_any()
                            })
                    }}
            </div>
        </header>
    }
}

/// Who is signed in, in which mode, the button to the other mode and the way out: kept together
/// when the header wraps. Written out once per mode, the badge and the forms with literal
/// attributes only, so that Leptos writes them as static HTML, one string each: built from the
/// mode's names and the server functions' URLs, they cost a signed-in page 8 µs of its 80
/// (`perf`, `make bench-http`). The header's own listener handles their submits.
/// `tests/api/both_modes.rs` holds them to `Mode::label`, `SwitchMode::url` and `LogOut::url`.
fn account_group(viewer: &Viewer) -> AnyView {
    let who = view! {
        <span class="who" data-testid="signed-in-user" title=format!("Signed in as {}", viewer.username)>
            <span class="visually-hidden">"Signed in as "</span>
            <strong>{viewer.username.clone()}</strong>
        </span>
    };
    match viewer.mode {
        Mode::Session => view! {
            <span class="account-group">
                {who}
                <span class="mode-badge" data-mode="session" data-testid="mode">"cookie session"</span>
                <form class="inline" method="post" action="/fn/switch_mode" data-to="jwt">
                    <input type="hidden" name="to" value="jwt" />
                    <button
                        type="submit"
                        class="button secondary small"
                        data-testid="switch-mode"
                        title="New credentials of the other kind, no password needed"
                    >
                        "Use JWT"
                    </button>
                </form>
                <form class="inline" method="post" action="/auth/refresh/logout">
                    <button type="submit" class="button secondary">"Sign out"</button>
                </form>
            </span>
        }
        .into_any(),
        Mode::Jwt => view! {
            <span class="account-group">
                {who}
                <span class="mode-badge" data-mode="jwt" data-testid="mode">"JWT"</span>
                <form class="inline" method="post" action="/fn/switch_mode" data-to="session">
                    <input type="hidden" name="to" value="session" />
                    <button
                        type="submit"
                        class="button secondary small"
                        data-testid="switch-mode"
                        title="New credentials of the other kind, no password needed"
                    >
                        "Use cookie session"
                    </button>
                </form>
                <form class="inline" method="post" action="/auth/refresh/logout">
                    <button type="submit" class="button secondary">"Sign out"</button>
                </form>
            </span>
        }
        .into_any(),
    }
}

/// After each change of `source` but the first (the server's answer came with the page), asks
/// `ask` again and hands the answer to `show`, unless a later change has asked since. Effects run
/// only in the browser.
fn ask_again_after_each_navigation<S, F>(
    source: impl Fn() -> S + 'static,
    ask: impl Fn() -> F + Copy + 'static,
    show: impl Fn(F::Output) + Clone + 'static,
) where
    F: std::future::Future + 'static,
{
    let asked = StoredValue::new(0_u64);
    Effect::new(move |ran_before: Option<()>| {
        source();
        if ran_before.is_none() {
            return;
        }
        let this_time = asked.get_value() + 1;
        asked.set_value(this_time);
        let show = show.clone();
        leptos::task::spawn_local(async move {
            let answer = ask().await;
            if asked.get_value() == this_time {
                show(answer);
            }
        });
    });
}

/// Shown for a failed page load: a missing sign-in goes to the login page and comes back here.
#[component]
pub fn SignInRequired(error: AppError) -> impl IntoView {
    let location = use_location();
    if error.needs_sign_in() {
        let wanted = format!("{}{}", location.pathname.get_untracked(), {
            let search = location.search.get_untracked();
            if search.is_empty() {
                String::new()
            } else {
                format!("?{search}")
            }
        });
        let login = match &error {
            AppError::SessionEnded { reason } => login_url_signed_out(&wanted, *reason),
            _ => login_url(&wanted),
        };
        view! { <Redirect path=login /> }.into_any()
    } else {
        view! { <p class="alert" role="alert">{error.to_string()}</p> }.into_any()
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="card narrow">
            <h1>"Nothing here"</h1>
            <p>"This page does not exist. " <a href="/">"Go to the start page"</a> "."</p>
        </section>
    }
}
