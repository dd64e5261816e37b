//! ticketbooth: cookie sessions and JWTs side by side, in one real and hardened web app.
//!
//! The crate builds twice: with `ssr` it is the server (axum + Leptos SSR), with `hydrate` it is
//! the WebAssembly that makes the server-rendered pages interactive. Modules marked `[ssr]` exist
//! only in the server build.

#![recursion_limit = "256"]

/// The `#[server]` functions the pages call: thin wrappers over `auth` and `db`.
pub mod api;
/// The root component, the HTML shell and the route table.
pub mod app;
/// The app's one error type, its HTTP status and its server-function form.
pub mod error;
/// Values that travel between server and browser: users, devices, modes.
pub mod model;
/// The protected pages and the rule for where sign-in may lead.
pub mod nav;
/// Page components, one module per page.
pub mod pages;

/// [ssr] How a request is recognised: the interface, the session mode, passwords.
#[cfg(feature = "ssr")]
pub mod auth;
/// [ssr] Every SQL statement the app runs.
#[cfg(feature = "ssr")]
pub mod db;
/// [ssr] Configuration, shared state, the router and its middleware.
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WebAssembly build: attaches the app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
