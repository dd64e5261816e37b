//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
#[cfg(not(feature = "lazy-pages"))]
use leptos_router::ChooseView;
#[cfg(feature = "lazy-pages")]
use leptos_router::{Lazy, LazyRoute, lazy_route};
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
                <Routes fallback=|| {
                    mark_hydrated_when_done();
                    view! { <NotFound /> }
                }>
                    <Route path=path!("/") view=HomeRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=SignUpRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LogInRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/dashboard") view=DashboardRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/devices") view=DevicesRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/compare") view=CompareRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/cluster") view=ClusterRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/playground") view=PlaygroundRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/activity") view=ActivityRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=AdminRoute::choose() ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=AdminUserRoute::choose() ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// Marks the body once the page being built has hydrated, its event handlers attached (effects
/// run only in the browser, after the hydration that created them). The browser tests wait for
/// this mark before they click, so they exercise the JavaScript path and not the plain-form one.
/// The page sets it, not the app: a lazy page hydrates after the shell, once its chunk has
/// arrived, and a click in between would submit a plain form.
fn mark_hydrated_when_done() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Each page's route view. With the `lazy-pages` feature (the browser's release builds, split by
/// `cargo leptos --split`), a page whose code the browser loads only when it goes there: the
/// first page a visitor opens downloads the shell and that page, not every page of the app.
/// Without it, the page itself: in debug builds (`cargo leptos watch`), where a WebAssembly
/// module built with lazy routes but not split imports chunks that do not exist and never
/// hydrates; and on the server, which renders the same HTML either way, and for which a lazy
/// route only added work: 5 to 10 µs of CPU per page (`make bench-http`).
macro_rules! page_route {
    ($route:ident, $page:ident) => {
        #[derive(Clone, Copy)]
        pub struct $route;

        #[cfg(feature = "lazy-pages")]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                mark_hydrated_when_done();
                view! { <$page /> }.into_any()
            }
        }

        impl $route {
            #[cfg(feature = "lazy-pages")]
            fn choose() -> Lazy<$route> {
                Lazy::new()
            }

            #[cfg(not(feature = "lazy-pages"))]
            fn choose() -> impl ChooseView {
                || {
                    mark_hydrated_when_done();
                    view! { <$page /> }
                }
            }
        }
    };
}

page_route!(HomeRoute, HomePage);
page_route!(SignUpRoute, SignUpPage);
page_route!(LogInRoute, LogInPage);
page_route!(DashboardRoute, DashboardPage);
page_route!(DevicesRoute, DevicesPage);
page_route!(CompareRoute, ComparePage);
page_route!(ClusterRoute, ClusterPage);
page_route!(PlaygroundRoute, PlaygroundPage);
page_route!(AccountRoute, AccountPage);
page_route!(ActivityRoute, ActivityLogPage);
page_route!(AdminRoute, AdminPage);
page_route!(AdminUserRoute, AdminUserPage);
