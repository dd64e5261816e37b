//! ticketbooth: cookie sessions and JWTs side by side, in one real and hardened web app.
//!
//! The crate builds twice: with `ssr` it is the server (axum + Leptos SSR), with `hydrate` it is
//! the WebAssembly that makes the server-rendered pages interactive. Modules marked `[ssr]` exist
//! only in the server build.

#![recursion_limit = "256"]

// The layers, bottom to top: each imports only the layers listed before it, and itself
// (tests/layering.rs keeps it so). `[ssr]` marks the layers only the server build has.

/// Values that travel between server and browser, one file per feature. Plain data: it
/// imports nothing of the crate, so every layer may use it, the settings in `core` too.
pub mod model;
/// [ssr] Clock, configuration (every setting, read once), the client's address, random ids
/// and hashes, a lock.
#[cfg(feature = "ssr")]
pub mod core;
/// The protected pages and the rule for where sign-in may lead.
pub mod nav;
/// The app's one error type, its HTTP status and its server-function form.
pub mod error;
/// [ssr] Every SQL statement the app runs, and its query counter.
#[cfg(feature = "ssr")]
pub mod db;
/// [ssr] How a request is recognised: credentials read once, the two modes behind one
/// interface, passwords, the sign-in throttle.
#[cfg(feature = "ssr")]
pub mod auth;
/// [ssr] What the app shows about itself: costs, the load burst, the playground, explanations.
#[cfg(feature = "ssr")]
pub mod inspect;
/// The `#[server]` functions the pages call, and the JSON API: thin wrappers over `auth`.
pub mod api;
/// Page components, one module per page.
pub mod pages;
/// The root component, the HTML shell and the route table.
pub mod app;
/// [ssr] The router, its middleware, start and stop.
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WebAssembly build: attaches the app to the server-rendered page. Lazily:
/// each page's code is a chunk of its own (`app.rs`), fetched before that page can hydrate
/// (`hydrate_body` panics on a lazy route).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
