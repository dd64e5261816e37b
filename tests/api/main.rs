//! Integration tests: each one starts the real server on a random port with a fresh database
//! and talks to it over HTTP, as a browser or a script would.

mod accounts;
mod activity;
mod admin;
mod both_modes;
mod cluster;
mod denylist;
mod devices;
#[path = "../support/haproxy.rs"]
mod haproxy;
mod helpers;
mod inspect;
mod jwks;
mod jwt;
mod jwt_browser;
mod outage;
mod password;
mod policy;
#[path = "../support/postgres.rs"]
mod postgres;
mod redis;
// Shared with the store suite, which also keeps an append-only file.
#[allow(dead_code)]
#[path = "../support/redis_server.rs"]
mod redis_server;
mod remember;
mod security;
mod servers;
mod shared_keys;
mod sessions;
mod theft_drill;
mod throttle;
mod trust;
