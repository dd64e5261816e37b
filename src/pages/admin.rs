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
    api::{AdminEndDevices, AdminSetRole, admin_user, admin_users},
    error::AppError,
    model::{AdminUserRow, AdminUserView, Revocation, Role, RoleReach},
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
        // Titled at once, not only when the accounts have loaded: a page is never untitled.
        <Title text="Admin" />
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
    let set_role = ServerAction::<AdminSetRole>::new();
    let user = Resource::new(
        move || {
            (
                params
                    .read()
                    .get("id")
                    .and_then(|id| id.parse::<i64>().ok()),
                end.version().get(),
                set_role.version().get(),
            )
        },
        |(id, _, _)| async move {
            match id {
                Some(id) => admin_user(id, None).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Admin · account" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                user.get()
                    .map(|user| match user {
                        Ok(user) => view! { <Account user end set_role /> }.into_any(),
                        Err(error) => refused(error),
                    })
            }}
        </Transition>
    }
}

#[component]
fn Account(
    user: AdminUserView,
    end: ServerAction<AdminEndDevices>,
    set_role: ServerAction<AdminSetRole>,
) -> impl IntoView {
    let error = last_error(end.value());
    let role_error = last_error(set_role.value());
    let id = user.id;
    let is_admin = user.role == Role::Admin.key();
    let other_role = if is_admin { Role::User } else { Role::Admin };
    let role_ever_changed = user.role_changed.is_some();
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
                "Created " <When moment=user.created /> "."
            </p>
            <FormError error=error />
            <h2 class="part-title">"Role"</h2>
            <div class="role-row">
                <p data-testid="admin-role">
                    <strong>{user.role.clone()}</strong>
                    {user
                        .role_changed
                        .map(|at| view! { ", changed " <When moment=at /> })}
                </p>
                <ActionForm action=set_role attr:class="inline">
                    <input type="hidden" name="user" value=id />
                    <input type="hidden" name="role" value=other_role.key() />
                    <button
                        type="submit"
                        class="button secondary small"
                        data-testid="admin-set-role"
                        disabled=move || set_role.pending().get()
                    >
                        {if is_admin { "Make an ordinary user" } else { "Make administrator" }}
                    </button>
                </ActionForm>
            </div>
            <FormError error=role_error />
            <RoleReachFacts reach=user.reach changed=role_ever_changed />
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

/// When the account's devices go by its role: measured from what the stores hold, beside the
/// button that changes it.
#[component]
fn RoleReachFacts(reach: RoleReach, changed: bool) -> impl IntoView {
    let RoleReach {
        sessions,
        jwt_devices,
        stale_claim_until,
        access_ttl,
        revocation,
    } = reach;
    let jwt = match (revocation, stale_claim_until) {
        (Revocation::SessionCheck, _) => view! {
            "This server checks every JWT request against the database (session-check), and that \
             read brings the role along: a change applies to their very next request."
        }
        .into_any(),
        (_, Some(until)) => view! {
            "Their access tokens issued before the change still say the old role until "
            <span data-testid="stale-claim-until"><When moment=until /></span>
            {format!(
                " (at most {access_ttl} after it): the role claim is a copy, corrected at each \
                 device's next refresh. The admin pages read the role from the database, so the \
                 stale claim opens nothing here; an API that trusted the claim would let it \
                 through until then."
            )}
        }
        .into_any(),
        (_, None) if changed => view! {
            "No access token issued before the last change is still valid: every JWT device goes \
             by the role above."
        }
        .into_any(),
        (_, None) => format!(
            "A change would reach them at their next refresh, up to {access_ttl} later: the \
                 role in an access token is a copy."
        )
        .into_any(),
    };
    view! {
        <ul class="reach" data-testid="role-reach">
            <li data-testid="role-reach-sessions">
                <strong>{format!("Cookie sessions: {sessions}. ")}</strong>
                "A change rewrites the role each session keeps, so each goes by it from its next \
                 request."
            </li>
            <li data-testid="role-reach-jwt">
                <strong>{format!("JWT devices: {jwt_devices}. ")}</strong>
                {jwt}
            </li>
        </ul>
    }
}
