//! Values that travel between the server and the browser, one file per feature. Both builds
//! have them: the server fills them in, the pages show them.

mod activity;
mod cluster;
mod compare;
mod dashboard;
mod devices;
mod lifetime;
mod mode;
mod playground;
mod time;

pub use activity::*;
pub use cluster::*;
pub use compare::*;
pub use dashboard::*;
pub use devices::*;
pub use lifetime::*;
pub use mode::*;
pub use playground::*;
pub use time::*;
