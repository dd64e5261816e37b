//! The request pipeline around the routes, one concern a file: limits on what a request may
//! carry, the origin check, recognition and the page guard, server-function error statuses,
//! and security headers.

pub mod errors;
pub mod headers;
pub mod limits;
pub mod origin;
pub mod recognise;

/// Path prefix of every server function (`#[server(prefix = ...)]`).
pub const SERVER_FN_PREFIX: &str = "/fn";
