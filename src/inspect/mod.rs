//! What the app shows about itself: what recognising a request cost ([`metrics`]), the compare
//! page's load burst and kill drill ([`load`]) with each way's floor ([`floors`]), the tamper
//! playground ([`playground`]) and the
//! dashboard's account of a request ([`explain`]). Everything here goes through `auth`'s public
//! API with values it builds; nothing here builds a request.

pub mod cluster;
pub mod explain;
pub mod floors;
pub mod load;
pub mod metrics;
pub mod playground;
pub mod stores;
