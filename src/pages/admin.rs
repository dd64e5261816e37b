//! `/admin` and `/admin/users/:id`: accounts, their devices and activity, for administrators.
//! Anyone else gets the not-found page, with a 404.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    activity::Entry,
    devices::When,
    form::{FormError, last_error},
    layout::{NotFound, SignInRequired},
};
use crate::{
    api::{AdminEndDevices, admin_user, admin_users},
    error::AppError,
    model::{AdminUserRow, AdminUserView},
};

/// The not-found page for anyone but an administrator; the sign-in redirect for nobody.
fn refused(error: AppError) -> AnyView {
    match error {
        AppError::NotFound => view! { <NotFound /> }.into_any(),
        error => view! { <SignInRequired error /> }.into_any(),
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| admin_users());
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                users
                    .get()
                    .map(|users| match users {
                        Ok(users) => view! { <Users users /> }.into_any(),
                        Err(error) => refused(error),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Users(users: Vec<AdminUserRow>) -> impl IntoView {
    view! {
        <Title text="Admin" />
        <section class="card wide">
            <h1>"Accounts"</h1>
            <ol class="activity" data-testid="admin-users">
                {users
                    .into_iter()
                    .map(|user| {
                        view! {
                            <li class="activity-entry" data-testid="admin-user">
                                <div class="activity-head">
                                    <a href=format!("/admin/users/{}", user.id)>
                                        <strong>{user.username}</strong>
                                    </a>
                                    <span>{user.role}</span>
                                </div>
                                <p class="activity-facts">
                                    <span data-testid="admin-device-count">
                                        {format!("{} devices signed in", user.devices)}
                                    </span>
                                    " · last activity "
                                    {match user.last_activity {
                                        Some(at) => view! { <When moment=at /> }.into_any(),
                                        None => "none".into_any(),
                                    }}
                                    " · created "
                                    <When moment=user.created />
                                </p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}

#[component]
pub fn AdminUserPage() -> impl IntoView {
    let params = use_params_map();
    let end = ServerAction::<AdminEndDevices>::new();
    let user = Resource::new(
        move || {
            (
                params
                    .read()
                    .get("id")
                    .and_then(|id| id.parse::<i64>().ok()),
                end.version().get(),
            )
        },
        |(id, _)| async move {
            match id {
                Some(id) => admin_user(id, None).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                user.get()
                    .map(|user| match user {
                        Ok(user) => view! { <Account user end /> }.into_any(),
                        Err(error) => refused(error),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Account(user: AdminUserView, end: ServerAction<AdminEndDevices>) -> impl IntoView {
    let error = last_error(end.value());
    let id = user.id;
    view! {
        <Title text=format!("Admin · {}", user.username) />
        <section class="card wide">
            <div class="card-head">
                <h1 data-testid="admin-username">{user.username.clone()}</h1>
                <ActionForm action=end attr:class="inline">
                    <input type="hidden" name="user" value=id />
                    <button type="submit" class="button danger" data-testid="admin-end-all">
                        "Sign out all of this user's devices"
                    </button>
                </ActionForm>
            </div>
            <p class="lead">
                {format!("Role: {}. Created ", user.role)} <When moment=user.created /> "."
            </p>
            <FormError error=error />
            <h2 class="part-title">"Devices"</h2>
            {user
                .devices
                .is_empty()
                .then(|| view! { <p data-testid="admin-no-devices">"No device is signed in."</p> })}
            <ol class="activity" data-testid="admin-devices">
                {user
                    .devices
                    .into_iter()
                    .map(|device| {
                        view! {
                            <li class="activity-entry" data-testid="admin-device">
                                <div class="activity-head">
                                    <strong>{device.device}</strong>
                                    <span class="mode-badge" data-mode=device.mode.key()>
                                        {device.mode.label()}
                                    </span>
                                </div>
                                <p class="activity-facts">
                                    "from " <code>{device.ip}</code> " · last active "
                                    <When moment=device.last_active />
                                </p>
                                <ActionForm action=end attr:class="inline">
                                    <input type="hidden" name="user" value=id />
                                    <input type="hidden" name="device" value=device.id />
                                    <button
                                        type="submit"
                                        class="button secondary small"
                                        data-testid="admin-end-device"
                                    >
                                        "Sign out this device"
                                    </button>
                                </ActionForm>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            <h2 class="part-title">"Activity"</h2>
            <ol class="activity" data-testid="activity">
                {user
                    .activity
                    .entries
                    .into_iter()
                    .map(|entry| view! { <Entry entry device_link=false /> })
                    .collect_view()}
            </ol>
        </section>
    }
}
