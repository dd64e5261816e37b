//! `/activity`: what happened to the account, newest first, a page at a time.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{devices::When, layout::SignInRequired};
use crate::{
    api::{SwitchMode, activity},
    model::{ActivityEntry, ActivityPage},
};

#[component]
pub fn ActivityLogPage() -> impl IntoView {
    let query = use_query_map();
    let switch = expect_context::<ServerAction<SwitchMode>>();
    let page = Resource::new(
        move || {
            let query = query.read();
            (
                query.get("page").and_then(|page| page.parse::<u32>().ok()),
                query.get("device"),
                switch.version().get(),
            )
        },
        |(page, device, _)| activity(page, device),
    );
    view! {
        <Title text="Activity" />
        <section class="card wide">
            <h1>"Activity"</h1>
            <p class="lead">
                "Sign-ins, wrong passwords, sign-outs, devices signed out and by which device, "
                "password changes, refresh tokens used twice: newest first. No entry holds a "
                "password or a token."
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    page.get()
                        .map(|page| match page {
                            Ok(page) => view! { <Entries page /> }.into_any(),
                            Err(error) => view! { <SignInRequired error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Entries(page: ActivityPage) -> impl IntoView {
    let ActivityPage {
        entries,
        page,
        has_more,
        device_id,
    } = page;
    let link = {
        let device_id = device_id.clone();
        move |page: u32| match &device_id {
            Some(device) => format!("/activity?device={device}&page={page}"),
            None => format!("/activity?page={page}"),
        }
    };
    let empty = entries.is_empty();
    view! {
        {device_id
            .map(|_| {
                view! {
                    <p class="notice">
                        "Only the entries about one device. " <a href="/activity">"Show all"</a>
                    </p>
                }
            })}
        {empty.then(|| view! { <p data-testid="no-activity">"Nothing yet."</p> })}
        <ol class="activity" data-testid="activity">
            {entries.into_iter().map(|entry| view! { <Entry entry /> }).collect_view()}
        </ol>
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"Newer"</a> })}
            {has_more.then(|| view! { <a href=link(page + 1) rel="next">"Older"</a> })}
        </nav>
    }
}

/// One entry; `device_link` links its device to the viewer's own log filtered to it (off when
/// an administrator reads another account's log).
#[component]
pub fn Entry(entry: ActivityEntry, #[prop(default = true)] device_link: bool) -> impl IntoView {
    view! {
        <li class="activity-entry" data-testid="activity-entry" data-kind=entry.kind.key()>
            <div class="activity-head">
                <strong>{entry.kind.label()}</strong>
                <When moment=entry.at.clone() />
            </div>
            <p>{entry.summary.clone()}</p>
            <p class="activity-facts">
                {entry.mode.map(|mode| view! { <span class="mode-badge" data-mode=mode.key()>{mode.label()}</span> })}
                " from " <code>{entry.ip.clone()}</code>
                {entry
                    .device_id
                    .clone()
                    .filter(|_| device_link)
                    .map(|device| {
                        view! {
                            " · " <a href=format!("/activity?device={device}")>"this device's entries"</a>
                        }
                    })}
            </p>
        </li>
    }
}
