//! The bottom layer: what every other layer needs and nothing of the app's own. The clock, the
//! configuration (every setting, read once), who is on the other end of a request, random ids
//! and hashes, and a lock that survives a panic. It imports nothing from the crate.

pub mod balancer;
pub mod client;
pub mod clock;
pub mod config;
pub mod ids;
pub mod redis;
pub mod sync;
pub mod text;
