//! The articles' load-balancer story on a real HAProxy in front of three instances (A, B, C) of
//! one database, with `make cluster`'s configuration: a round-robin door and a sticky one.
//! A browser signs in through a door, then sends requests through it; each answer names the
//! instance (`X-Instance`) and whether it recognised the browser.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use ticketbooth::model::{
    Balancer, ClusterView, KillReachToken, ProbeAnswer, RecognitionReport, ServerState, Viewer,
};

use crate::{
    haproxy::{Doors, Haproxy, free_port},
    helpers::*,
    redis_server::RedisServer,
};

const INSTANCES: [&str; 3] = ["A", "B", "C"];
/// Requests per drill: ten for each instance through the round-robin door.
const REQUESTS: usize = 30;

struct Cluster {
    /// The instances running in this test's process (all three, or A and C).
    instances: Vec<TestApp>,
    /// B, when it runs as a process of its own (one a test can kill with SIGKILL).
    process: Option<ServerProcess>,
    haproxy: Haproxy,
    redis: Option<RedisServer>,
}

/// Three instances of one database with cookie sessions in `store` (`memory`, the database's
/// own, `redis`, or `redis with its append-only file`), one sealed JWT key ring and one public
/// URL, behind HAProxy.
async fn cluster(store: &str) -> Cluster {
    cluster_of(store, false, &[]).await
}

/// [`cluster`], with B running as a process of its own.
async fn cluster_with_b_as_a_process(store: &str) -> Cluster {
    cluster_of(store, true, &[]).await
}

/// [`cluster`], with some more settings.
async fn cluster_with(store: &str, more: &[(&str, &str)]) -> Cluster {
    cluster_of(store, false, more).await
}

async fn cluster_of(store: &str, b_as_a_process: bool, more: &[(&str, &str)]) -> Cluster {
    let redis = match store {
        "redis" => Some(RedisServer::start()),
        "redis with its append-only file" => Some(RedisServer::start_append_only()),
        _ => None,
    };
    let store = match store {
        "database" => database_store(),
        "redis with its append-only file" => "redis",
        other => other,
    };
    let doors = Doors::reserve();
    let sealing = STANDARD.encode([9_u8; 32]);
    let mut settings = vec![
        ("SESSION_STORE", store.to_owned()),
        ("JWT_KEY_ENCRYPTION_KEY", sealing),
        ("PUBLIC_URL", doors.round_robin()),
        ("HAPROXY_SOCKET", doors.admin_socket().display().to_string()),
        // HAProxy, which names the door and the client.
        ("TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ];
    if let Some(redis) = &redis {
        settings.push(("REDIS_URL", redis.url()));
    }
    for (key, value) in more {
        settings.push((key, value.to_string()));
    }
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let named = |name: &'static str| {
        let mut named = settings.clone();
        named.push(("INSTANCE_NAME", name));
        named
    };
    let first = spawn_app_with(&named(INSTANCES[0])).await;
    let mut servers = vec![(INSTANCES[0], first.server.addr)];
    let mut instances = vec![first];
    let mut process = None;
    for name in &INSTANCES[1..] {
        if *name == "B" && b_as_a_process {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
            let b = instances[0]
                .process_on_the_same_database(&named(name), address)
                .await;
            servers.push((name, b.addr));
            process = Some(b);
            continue;
        }
        let other = instances[0]
            .try_instance_on_the_same_database(&named(name))
            .await
            .unwrap();
        servers.push((name, other.server.addr));
        instances.push(other);
    }
    let haproxy = Haproxy::start(doors, &servers).await;
    Cluster {
        instances,
        process,
        haproxy,
        redis,
    }
}

/// The instance that answered `response` (its `X-Instance` header).
fn instance_of(response: &reqwest::Response) -> String {
    response.headers()["x-instance"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Per instance: how many answers recognised the browser, and how many found no one.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    recognised: usize,
    not_recognised: usize,
}

/// Sends `REQUESTS` requests one after the other, as the `/cluster` page's drill does.
async fn drill(browser: &Browser) -> BTreeMap<String, Tally> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for _ in 0..REQUESTS {
        let response = browser.get("/fn/viewer").await;
        assert_eq!(response.status(), StatusCode::OK);
        let instance = instance_of(&response);
        let viewer: Option<Viewer> = response.json().await.unwrap();
        let tally = tallies.entry(instance).or_default();
        if viewer.is_some() {
            tally.recognised += 1;
        } else {
            tally.not_recognised += 1;
        }
    }
    tallies
}

fn recognised(tallies: &BTreeMap<String, Tally>) -> usize {
    tallies.values().map(|tally| tally.recognised).sum()
}

/// Signs a new account up through `door`; returns the browser and the instance it landed on.
async fn signed_up_through(door: &str, username: &str, mode: &str) -> (Browser, String) {
    let browser = browser_through(door);
    let response = browser.sign_up_with(username, mode).await;
    assert_redirects_to(&response, "/dashboard");
    let instance = instance_of(&response);
    (browser, instance)
}

/// The articles' problem: a session kept in one instance's memory is missing on the other two,
/// and the first of them to answer signs the browser out, even of the instance that had it.
#[tokio::test]
async fn memory_sessions_behind_round_robin_are_missing_on_two_instances_of_three() {
    let cluster = cluster("memory").await;
    let (browser, home) = signed_up_through(&cluster.haproxy.round_robin, "ana", "session").await;

    let tallies = drill(&browser).await;

    assert_eq!(tallies.len(), 3, "every instance answered: {tallies:?}");
    for tally in tallies.values() {
        assert_eq!(tally.recognised + tally.not_recognised, REQUESTS / 3);
    }
    for (instance, tally) in &tallies {
        if *instance != home {
            assert_eq!(tally.recognised, 0, "{instance} never had the session");
        }
    }
    assert!(recognised(&tallies) <= 1, "{tallies:?}");
    let again = drill(&browser).await;
    assert_eq!(recognised(&again), 0, "signed out everywhere: {again:?}");
}

/// Sticky sessions fix it, until the instance the browser sticks to goes away.
#[tokio::test]
async fn memory_sessions_behind_the_sticky_door_hold_until_their_instance_is_taken_out() {
    let cluster = cluster("memory").await;
    let (browser, home) = signed_up_through(&cluster.haproxy.sticky, "ana", "session").await;

    let tallies = drill(&browser).await;
    assert_eq!(
        tallies,
        BTreeMap::from([(
            home.clone(),
            Tally {
                recognised: REQUESTS,
                not_recognised: 0
            }
        )])
    );

    cluster.haproxy.take_out(&home);
    let tallies = drill(&browser).await;
    assert!(!tallies.contains_key(&home), "{tallies:?}");
    assert_eq!(recognised(&tallies), 0, "signed out: {tallies:?}");
}

/// A shared store: every instance recognises every request, through either door, and an
/// instance taken out signs nobody out.
#[tokio::test]
async fn shared_sessions_are_recognised_on_every_instance_and_survive_one_taken_out() {
    for store in ["database", "redis"] {
        let cluster = cluster(store).await;
        let (browser, home) =
            signed_up_through(&cluster.haproxy.round_robin, "ana", "session").await;

        let tallies = drill(&browser).await;
        assert_eq!(tallies.len(), 3, "{store}: {tallies:?}");
        assert_eq!(recognised(&tallies), REQUESTS, "{store}: {tallies:?}");

        cluster.haproxy.take_out(&home);
        let tallies = drill(&browser).await;
        assert_eq!(tallies.len(), 2, "{store}: {tallies:?}");
        assert_eq!(recognised(&tallies), REQUESTS, "{store}: {tallies:?}");
    }
}

/// The cluster page sees what HAProxy does with each instance, and an administrator takes one
/// out and puts it back from there; anyone else is told there is nothing (404) and changes
/// nothing, and a name HAProxy does not know is a field error.
#[tokio::test]
async fn an_administrator_takes_an_instance_out_of_both_doors_and_puts_it_back() {
    let cluster = cluster("database").await;
    let (admin, _) = signed_up_through(&cluster.haproxy.round_robin, "ana", "session").await;
    make_admin(&cluster.instances[0], "ana").await;
    let (someone, _) = signed_up_through(&cluster.haproxy.round_robin, "bob", "session").await;
    async fn view(browser: &Browser) -> ClusterView {
        let response = browser.get("/fn/cluster").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
    let states_of = |view: &ClusterView, instance: &str| match &view.balancer {
        Balancer::Servers(servers) => servers
            .iter()
            .filter(|server| server.instance == instance)
            .map(|server| server.state)
            .collect::<Vec<_>>(),
        other => panic!("no servers: {other:?}"),
    };

    let seen = view(&admin).await;
    assert_eq!(seen.door.as_deref(), Some("round-robin"));
    assert!(seen.can_operate);
    assert_eq!(states_of(&seen, "B"), [ServerState::Up; 2]);
    assert!(!view(&someone).await.can_operate);

    let taking_out = [("instance", "B"), ("taken_out", "true")];
    let refused = someone
        .post_form("/fn/set_instance_taken_out", &taking_out)
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(cluster.haproxy.servers_up().len(), 6);
    let unknown = admin
        .post_form(
            "/fn/set_instance_taken_out",
            &[("instance", "Z"), ("taken_out", "true")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error_body(unknown).await;
    assert_eq!(
        body["fields"][0]["message"],
        "The load balancer has no instance of that name."
    );
    assert_eq!(cluster.haproxy.servers_up().len(), 6);
    // A visitor who is not signed in is not shown the balancer, and costs it no connection.
    let anonymous = browser_through(&cluster.haproxy.round_robin);
    let seen: ClusterView = anonymous.get("/fn/cluster").await.json().await.unwrap();
    assert_eq!(seen.balancer, Balancer::SignInToSee);

    let taken = admin
        .post_form("/fn/set_instance_taken_out", &taking_out)
        .await;
    assert_eq!(taken.status(), StatusCode::OK);
    let up = cluster.haproxy.servers_up();
    assert!(up.iter().all(|server| !server.ends_with("/B")), "{up:?}");
    assert_eq!(up.len(), 4);
    assert_eq!(
        states_of(&view(&admin).await, "B"),
        [ServerState::TakenOut; 2]
    );
    let tallies = drill(&admin).await;
    assert!(!tallies.contains_key("B"), "{tallies:?}");

    let back = admin
        .post_form(
            "/fn/set_instance_taken_out",
            &[("instance", "B"), ("taken_out", "false")],
        )
        .await;
    assert_eq!(back.status(), StatusCode::OK);
    cluster.haproxy.wait_until_up(6).await;
}

/// The page's own drill asks `/fn/drill_probe`: the instance and whether it recognised the
/// browser, as the response header and `/fn/viewer` tell.
#[tokio::test]
async fn the_pages_drill_probe_names_the_instance_and_whether_it_recognised_the_browser() {
    let cluster = cluster("memory").await;
    let (browser, home) = signed_up_through(&cluster.haproxy.sticky, "ana", "session").await;
    let response = browser.get("/fn/drill_probe").await;
    assert_eq!(response.status(), StatusCode::OK);
    let probe: ProbeAnswer = response.json().await.unwrap();
    assert_eq!(
        (probe.instance.as_str(), probe.recognised),
        (home.as_str(), true)
    );

    let stranger = browser_through(&cluster.haproxy.round_robin);
    let probe: ProbeAnswer = stranger.get("/fn/drill_probe").await.json().await.unwrap();
    assert!(!probe.recognised);
    assert!(INSTANCES.contains(&probe.instance.as_str()));
}

/// The shared desk falls over: Redis, which keeps the cookie sessions, stops and starts again.
/// Meanwhile HAProxy keeps every instance in (its check asks whether the instance serves, not
/// whether its stores answer), a cookie-session request is a 503 that keeps the cookie, and a
/// JWT browser is recognised on every instance. Afterwards the cookie-session browser is still
/// signed in only if Redis kept its append-only file; without it, it signs in again.
#[tokio::test]
async fn when_redis_falls_over_jwts_go_on_and_only_its_append_only_file_keeps_the_sessions() {
    for (store, kept) in [("redis", false), ("redis with its append-only file", true)] {
        let mut cluster = cluster(store).await;
        let door = cluster.haproxy.round_robin.clone();
        let (by_session, _) = signed_up_through(&door, "ana", "session").await;
        let (by_jwt, _) = signed_up_through(&door, "ben", JWT).await;
        // Redis writes the append-only file before it answers (and syncs it to the disk once a
        // second): a killed Redis keeps every write it acknowledged.
        cluster.redis.as_mut().unwrap().stop();
        for instance in &cluster.instances {
            assert_eq!(readiness(instance).await.1["session_store_up"], false);
        }
        for _ in 0..INSTANCES.len() {
            assert_unavailable_keeping_the_cookie(&by_session.get("/fn/viewer").await);
        }
        // Through more than two of HAProxy's checks (every 200 ms; two failures take an
        // instance out), so that a check which asked the store would have taken them all out.
        let outage = std::time::Instant::now();
        while outage.elapsed() < std::time::Duration::from_millis(600) {
            let tallies = drill(&by_jwt).await;
            let every_instance = tallies.len() == 3;
            assert!(
                every_instance,
                "{store}: every instance still in: {tallies:?}"
            );
            assert_eq!(recognised(&tallies), REQUESTS, "{store}: {tallies:?}");
        }

        cluster.redis.as_mut().unwrap().restart();
        for instance in &cluster.instances {
            assert!(ready_again(instance).await, "{store}: /readyz recovered");
        }
        let tallies = drill(&by_session).await;
        let expected = if kept { REQUESTS } else { 0 };
        assert_eq!(recognised(&tallies), expected, "{store}: {tallies:?}");
        if !kept {
            assert_redirects_to(&by_session.log_in("ana", PASSWORD).await, "/dashboard");
            assert_eq!(recognised(&drill(&by_session).await), REQUESTS);
        }
    }
}

/// The cluster page's kill-reach drill, as the page runs it through the round-robin door: a
/// throwaway JWT device of the signed-in user, let in by every instance before its kill. Under
/// `denylist` (with a shared Redis) every instance refuses it after the kill, and none lets it
/// back in; under `pure` every instance still lets it in. Either way the devices page lists the
/// device as killed, and a token this server did not sign is refused, not "killed".
#[tokio::test]
async fn the_kill_reach_drill_sees_a_denylist_kill_on_every_instance_and_a_pure_one_on_none() {
    for (revocation, reaches) in [("denylist", true), ("pure", false)] {
        let cluster = cluster_with("redis", &[("JWT_REVOCATION", revocation)]).await;
        let (browser, _) = signed_up_through(&cluster.haproxy.round_robin, "ana", "session").await;
        let response = browser.post_form("/fn/kill_reach_device", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let device: KillReachToken = response.json().await.unwrap();
        let token = device.access_token.as_str();
        let probe = || async {
            let response = browser
                .post_form("/fn/kill_reach_probe", &[("access_token", token)])
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<ProbeAnswer>().await.unwrap()
        };
        let mut before = BTreeMap::new();
        for _ in 0..INSTANCES.len() {
            let answer = probe().await;
            before.insert(answer.instance, answer.recognised);
        }
        assert_eq!(before.len(), 3, "{revocation}: {before:?}");
        assert!(
            before.values().all(|let_in| *let_in),
            "{revocation}: {before:?}"
        );
        assert_eq!(
            browser.devices().await.len(),
            2,
            "the drill's device is listed"
        );

        let kill = browser
            .post_form("/fn/kill_reach_kill", &[("access_token", token)])
            .await;
        assert_eq!(kill.status(), StatusCode::OK, "{revocation}");
        // Listed as killed, with its access token still valid only under `pure`.
        let revoked = browser.other_device().await.revoked.expect("killed");
        assert_eq!(
            revoked.access_valid_until.is_some(),
            !reaches,
            "{revocation}"
        );
        // Until each instance has refused once (a broadcast may take a moment), at most a
        // few hundred probes.
        let mut refused = BTreeMap::new();
        for _ in 0..300 {
            let answer = probe().await;
            if !answer.recognised {
                refused.insert(answer.instance, true);
            }
            if refused.len() == 3 || !reaches {
                break;
            }
        }
        let mut after = Tally::default();
        for _ in 0..REQUESTS {
            if probe().await.recognised {
                after.recognised += 1;
            } else {
                after.not_recognised += 1;
            }
        }
        if reaches {
            assert_eq!(refused.len(), 3, "{revocation}: {refused:?}");
            assert_eq!(after.recognised, 0, "{revocation}: {after:?}");
        } else {
            assert_eq!(after.not_recognised, 0, "{revocation}: {after:?}");
        }

        let forged = browser
            .post_form("/fn/kill_reach_kill", &[("access_token", "not.a.token")])
            .await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{revocation}");
    }
}

/// The door and the client's address are HAProxy's word, not the client's: it replaces the
/// headers a client sends of those names, and an instance believes them only from a trusted
/// proxy (`TRUSTED_PROXIES`, here HAProxy on 127.0.0.1), not from a client reaching it directly.
#[tokio::test]
async fn the_door_and_the_address_are_what_haproxy_says_not_what_a_client_claims() {
    let cluster = cluster("database").await;
    let claims = [
        ("x-ticketbooth-door", "round-robin"),
        ("x-forwarded-for", "203.0.113.9"),
    ];
    let from = "127.0.0.5".parse().unwrap();
    let browser = browser_through_claiming(&cluster.haproxy.sticky, from, &claims);
    assert_redirects_to(&browser.sign_up_with("ana", "session").await, "/dashboard");

    let seen: ClusterView = browser.get("/fn/cluster").await.json().await.unwrap();
    assert_eq!(seen.door.as_deref(), Some("sticky"));
    let devices = browser.devices().await;
    assert_eq!(devices[0].ip, "127.0.0.5", "the address HAProxy saw");

    let a = &cluster.instances[0].base;
    let direct = browser_through_claiming(a, "127.0.0.6".parse().unwrap(), &claims);
    let seen: ClusterView = direct.get("/fn/cluster").await.json().await.unwrap();
    assert_eq!(seen.door, None, "a client on 127.0.0.6 is no proxy");
}

/// JWTs need nothing shared per request: every instance verifies the signature with the ring
/// they share, whatever keeps the cookie sessions, and recognising costs no query on any.
#[tokio::test]
async fn jwt_browsers_are_recognised_on_every_instance_with_memory_sessions() {
    let cluster = cluster("memory").await;
    let (browser, _) = signed_up_through(&cluster.haproxy.round_robin, "ana", "jwt").await;

    let tallies = drill(&browser).await;

    assert_eq!(tallies.len(), 3, "{tallies:?}");
    assert_eq!(recognised(&tallies), REQUESTS, "{tallies:?}");
    // No round trip to any store: each instance says what recognising the request cost it.
    let mut queries: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..INSTANCES.len() * 2 {
        let response = browser.get("/fn/dashboard").await;
        let instance = instance_of(&response);
        let report: RecognitionReport = response.json().await.unwrap();
        *queries.entry(instance).or_default() += report.cost.queries;
    }
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(queries.values().all(|count| *count == 0), "{queries:?}");
}

/// A rolling restart through the round-robin door with a shared store: each instance in turn
/// drains (its `/readyz` turns 503 and HAProxy stops sending it requests), stops, and starts
/// again on its address, while a browser keeps sending requests. None is lost, none finds the
/// browser signed out.
#[tokio::test]
async fn a_rolling_restart_under_steady_load_loses_no_request_and_signs_nobody_out() {
    let mut cluster = cluster("database").await;
    let (browser, _) = signed_up_through(&cluster.haproxy.round_robin, "ana", "session").await;
    let load = Load::start(browser);

    for index in 0..INSTANCES.len() {
        let instance = cluster.instances.remove(index);
        instance.server.drain().await;
        cluster.haproxy.wait_until_up(4).await;
        load.keeps_going().await;
        let restarted = instance.restart().await;
        cluster.instances.insert(index, restarted);
        cluster.haproxy.wait_until_up(6).await;
        load.keeps_going().await;
    }
    let sent = load.stop().await;

    assert_eq!(sent.failed, Vec::<String>::new(), "lost requests: {sent:?}");
    assert_eq!(sent.signed_out, 0, "signed out: {sent:?}");
}

/// `kill -9` of one instance under load through the round-robin door, with a shared store: it
/// gets no time to drain, yet the only requests that may fail are the ones in flight on it (at
/// most one per browser, as each sends its next request once the last is answered; HAProxy
/// sends a request whose connection was refused or cut to another instance), nobody is signed
/// out, and nothing stored is lost: every device is still listed, every JWT browser still
/// renews its token, and the instance, started again, recognises everyone.
#[tokio::test]
async fn an_instance_killed_under_load_fails_at_most_its_requests_in_flight_and_loses_nothing() {
    let mut cluster = cluster_with_b_as_a_process("database").await;
    let door = cluster.haproxy.round_robin.clone();
    let mut sessions = Vec::new();
    let mut tokens = Vec::new();
    for username in ["ana", "ben"] {
        let (by_session, _) = signed_up_through(&door, username, "session").await;
        let by_jwt = browser_through(&door);
        assert_redirects_to(&by_jwt.log_in_with(username, JWT).await, "/dashboard");
        sessions.push(by_session);
        tokens.push(by_jwt);
    }
    let loads: Vec<Load> = sessions
        .iter()
        .chain(&tokens)
        .map(|browser| Load::start(browser.clone()))
        .collect();
    for load in &loads {
        load.keeps_going().await;
    }

    cluster.process.as_mut().unwrap().kill();
    cluster.haproxy.wait_until_up(4).await;
    for load in &loads {
        load.keeps_going().await;
    }
    let mut failed = Vec::new();
    let mut answered_by_b = 0;
    for load in loads {
        let sent = load.stop().await;
        assert_eq!(sent.signed_out, 0, "signed out: {sent:?}");
        failed.extend(sent.failed);
        answered_by_b += sent.by_instance.get("B").copied().unwrap_or(0);
    }

    assert!(answered_by_b > 0, "B served the load before it was killed");
    assert!(
        failed.len() <= sessions.len() + tokens.len(),
        "only requests in flight on B may fail: {failed:?}"
    );
    for browser in &sessions {
        assert_eq!(
            browser.devices().await.len(),
            2,
            "both devices still listed"
        );
    }
    for browser in &tokens {
        let renewal = browser.refresh_as_script().await;
        assert_eq!(
            renewal.status(),
            StatusCode::NO_CONTENT,
            "the refresh token survived"
        );
    }
    cluster.process.as_mut().unwrap().start_again().await;
    cluster.haproxy.wait_until_up(6).await;
    for browser in sessions.iter().chain(&tokens) {
        let tallies = drill(browser).await;
        assert_eq!(recognised(&tallies), REQUESTS, "{tallies:?}");
        assert!(tallies.contains_key("B"), "B answers again: {tallies:?}");
    }
}

/// A browser sending requests through a door one after the other until stopped.
struct Load {
    answered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Sent>,
}

/// What a [`Load`] sent: how many requests, the failures, how many found no session, and how
/// many each instance answered.
#[derive(Debug, Default)]
struct Sent {
    answered: usize,
    failed: Vec<String>,
    signed_out: usize,
    by_instance: BTreeMap<String, usize>,
}

impl Load {
    fn start(browser: Browser) -> Load {
        let answered = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (answered, stop) = (Arc::clone(&answered), Arc::clone(&stop));
            async move {
                let mut sent = Sent::default();
                while !stop.load(Ordering::Relaxed) {
                    match browser.client.get(browser.url("/fn/viewer")).send().await {
                        Ok(response) if response.status() == StatusCode::OK => {
                            let instance = instance_of(&response);
                            *sent.by_instance.entry(instance).or_default() += 1;
                            let viewer: Option<Viewer> = response.json().await.unwrap();
                            sent.signed_out += usize::from(viewer.is_none());
                        }
                        Ok(response) => sent.failed.push(response.status().to_string()),
                        Err(error) => sent.failed.push(error.to_string()),
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                sent.answered = answered.load(Ordering::Relaxed);
                sent
            }
        });
        Load {
            answered,
            stop,
            task,
        }
    }

    /// Waits until ten more requests have been answered (or failed).
    async fn keeps_going(&self) {
        let target = self.answered.load(Ordering::Relaxed) + 10;
        while self.answered.load(Ordering::Relaxed) < target {
            assert!(!self.task.is_finished(), "the load stopped");
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }

    /// Stops it and says what it sent.
    async fn stop(self) -> Sent {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// A lone server knows no load balancer, and one whose runtime API does not answer says so:
/// an administrator's change is a field error on the first, a 503 on the second, and neither
/// changes anything.
#[tokio::test]
async fn without_a_balancer_that_answers_the_page_says_so_and_nothing_changes() {
    let taking_out = [("instance", "A"), ("taken_out", "true")];

    let lone = spawn_app().await;
    let admin = lone.signed_in_browser("ana").await;
    make_admin(&lone, "ana").await;
    let view: ClusterView = admin.get("/fn/cluster").await.json().await.unwrap();
    assert_eq!(view.balancer, Balancer::NotConfigured);
    assert_eq!(view.door, None);
    assert!(!view.can_operate);
    let refused = admin
        .post_form("/fn/set_instance_taken_out", &taking_out)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let missing = tempfile::tempdir().unwrap();
    let socket = missing.path().join("admin.sock").display().to_string();
    let unanswered = spawn_app_with(&[("HAPROXY_SOCKET", socket.as_str())]).await;
    let admin = unanswered.signed_in_browser("ana").await;
    make_admin(&unanswered, "ana").await;
    let view: ClusterView = admin.get("/fn/cluster").await.json().await.unwrap();
    assert_eq!(view.balancer, Balancer::Unreachable);
    assert!(!view.can_operate);
    let refused = admin
        .post_form("/fn/set_instance_taken_out", &taking_out)
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "2");
}
