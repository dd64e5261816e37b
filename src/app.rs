//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::api::SwitchMode;
use crate::pages::{
    account::AccountPage,
    activity::ActivityLogPage,
    admin::{AdminPage, AdminUserPage},
    cluster::ClusterPage,
    compare::ComparePage,
    dashboard::DashboardPage,
    devices::DevicesPage,
    home::HomePage,
    layout::{Header, NotFound},
    login::LogInPage,
    playground::PlaygroundPage,
    signup::SignUpPage,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Switching modes changes what every page shows: the pages watch this action's version.
    provide_context(ServerAction::<SwitchMode>::new());
    // Effects run only in the browser, after hydration: the browser tests wait for this mark
    // before they click, so they exercise the JavaScript path and not the plain-form one.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/ticketbooth.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "ticketbooth".to_string() } else { format!("{page} · ticketbooth") }
        } />
        // Every page is rendered whole before it is sent (SsrMode::Async): streamed parts would
        // need JavaScript to be put in place, and every page must work without it.
        <Router>
            <Header />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LogInPage ssr=SsrMode::Async />
                    <Route path=path!("/dashboard") view=DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/devices") view=DevicesPage ssr=SsrMode::Async />
                    <Route path=path!("/compare") view=ComparePage ssr=SsrMode::Async />
                    <Route path=path!("/cluster") view=ClusterPage ssr=SsrMode::Async />
                    <Route path=path!("/playground") view=PlaygroundPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/activity") view=ActivityLogPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=AdminUserPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
