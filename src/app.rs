//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::pages::{
    dashboard::DashboardPage,
    devices::DevicesPage,
    home::HomePage,
    layout::{Header, NotFound},
    login::LogInPage,
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
    view! {
        <Stylesheet id="leptos" href="/pkg/ticketbooth.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "ticketbooth".to_string() } else { format!("{page} · ticketbooth") }
        } />
        <Router>
            <Header />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage />
                    <Route path=path!("/signup") view=SignUpPage />
                    <Route path=path!("/login") view=LogInPage />
                    <Route path=path!("/dashboard") view=DashboardPage />
                    <Route path=path!("/devices") view=DevicesPage />
                </Routes>
            </main>
        </Router>
    }
}
