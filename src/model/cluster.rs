//! The cluster page: which instance answered, which door the request came through, and what
//! the load balancer does with each instance.

use serde::{Deserialize, Serialize};

use super::{Revocation, SessionStoreKind};

/// The most requests one drill sends from the browser.
pub const MAX_DRILL: u32 = 200;

/// What an instance is to one door of the load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Passing its health checks: the door sends it requests.
    Up,
    /// Failing them (stopped, dead) or draining: the door sends it nothing new.
    Down,
    /// Taken out by hand (HAProxy's maintenance): the door sends it nothing.
    TakenOut,
    /// Anything else HAProxy reports (starting, no check yet).
    Other,
}

impl ServerState {
    /// HAProxy's `status` field of `show stat`: `UP`, `DOWN`, `MAINT`, `UP 1/2`, `no check`…
    pub fn of_status(status: &str) -> ServerState {
        match status.split_whitespace().next().unwrap_or_default() {
            "UP" => ServerState::Up,
            // Draining (weight 0 or a soft stop): the door sends it no new requests.
            "DOWN" | "DRAIN" | "NOLB" => ServerState::Down,
            "MAINT" => ServerState::TakenOut,
            _ => ServerState::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ServerState::Up => "up",
            ServerState::Down => "down or draining",
            ServerState::TakenOut => "taken out by hand",
            ServerState::Other => "starting",
        }
    }
}

/// One instance behind one door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancedServer {
    /// HAProxy's backend: `round_robin` or `sticky`.
    pub door: String,
    /// The instance's name (HAProxy's server name is its `INSTANCE_NAME`).
    pub instance: String,
    pub state: ServerState,
}

/// What this server knows of the load balancer in front of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balancer {
    /// No `HAPROXY_SOCKET`: a lone server, or a balancer it cannot see.
    NotConfigured,
    /// Shown to signed-in users only: the load balancer's layout is not for every visitor,
    /// and an anonymous flood must not reach its runtime API.
    SignInToSee,
    /// The socket is configured but did not answer.
    Unreachable,
    /// Every instance behind every door.
    Servers(Vec<BalancedServer>),
}

/// The cluster page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The instance that answered this request (`INSTANCE_NAME`).
    pub instance: String,
    /// The door HAProxy says the request came through (its `X-Ticketbooth-Door` header);
    /// `None` for a request that reached the instance directly.
    pub door: Option<String>,
    pub session_store: SessionStoreKind,
    pub revocation: Revocation,
    pub balancer: Balancer,
    /// Whether the viewer may take instances out and put them back: an administrator, and a
    /// balancer to ask.
    pub can_operate: bool,
}

/// One request of the browser's drill, as the instance that answered it saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeAnswer {
    pub instance: String,
    /// Whether the instance recognised the browser's credentials.
    pub recognised: bool,
    /// What recognising the request cost there, in µs.
    pub micros: f64,
}

/// The kill-reach drill's throwaway device: a JWT device of the signed-in user, made for the
/// drill and killed by it. Its access token goes to the page that asked, which probes every
/// instance with it before and after the kill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillReachToken {
    pub access_token: String,
}
