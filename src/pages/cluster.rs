//! `/cluster`: the load-balancer story, run from the user's own browser. The drill sends
//! requests with this browser's credentials through the door the page came through, and counts
//! per instance how many were recognised; an administrator takes an instance out of the load
//! balancer and puts it back.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::form::{FormError, field_error, last_error};
use crate::{
    api::{
        SetInstanceTakenOut, cluster, drill_probe, kill_reach_device, kill_reach_kill,
        kill_reach_probe,
    },
    error::AppError,
    model::{BalancedServer, Balancer, ClusterView, MAX_DRILL, ServerState, SessionStoreKind},
};

/// What the drill counted at one instance.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tally {
    recognised: u32,
    not_recognised: u32,
    micros: Vec<f64>,
}

impl Tally {
    fn median_micros(&self) -> Option<f64> {
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    }
}

/// One drill: per instance, and what did not get an answer at all.
#[derive(Debug, Clone, Default, PartialEq)]
struct DrillReport {
    sent: u32,
    by_instance: BTreeMap<String, Tally>,
    /// Requests that got an error instead of an answer (an instance gone, a store down).
    failed: u32,
    last_failure: Option<String>,
    /// Whether one more request, after the drill, was still recognised.
    signed_in_after: bool,
}

impl DrillReport {
    fn recognised(&self) -> u32 {
        self.by_instance
            .values()
            .map(|tally| tally.recognised)
            .sum()
    }
}

/// Sends `requests` requests one after the other from this browser, with its own credentials.
async fn drill(requests: u32) -> DrillReport {
    let mut report = DrillReport {
        sent: requests,
        ..DrillReport::default()
    };
    for _ in 0..requests {
        match drill_probe().await {
            Ok(probe) => {
                let tally = report.by_instance.entry(probe.instance).or_default();
                if probe.recognised {
                    tally.recognised += 1;
                } else {
                    tally.not_recognised += 1;
                }
                tally.micros.push(probe.micros);
            }
            Err(error) => {
                report.failed += 1;
                report.last_failure = Some(error.to_string());
            }
        }
    }
    report.signed_in_after = matches!(drill_probe().await, Ok(probe) if probe.recognised);
    report
}

#[component]
pub fn ClusterPage() -> impl IntoView {
    let operate = ServerAction::<SetInstanceTakenOut>::new();
    let view = Resource::new(move || operate.version().get(), |_| cluster());
    // The drill sits outside the part that a take-out redraws: its report stays beside the
    // next one.
    view! {
        <Title text="Cluster" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                view.get()
                    .map(|view| match view {
                        Ok(view) => view! { <Cluster view /> }.into_any(),
                        Err(error) => {
                            view! { <p class="alert" role="alert">{error.to_string()}</p> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
        <Drill />
        <KillReach />
        <Transition fallback=|| ()>
            {move || {
                view.get()
                    .and_then(Result::ok)
                    .map(|view| {
                        view! {
                            <BalancerCard
                                balancer=view.balancer
                                can_operate=view.can_operate
                                operate
                            />
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn Cluster(view: ClusterView) -> impl IntoView {
    let ClusterView {
        instance,
        door,
        session_store,
        revocation,
        ..
    } = view;
    let came_through = match door {
        Some(door) => format!("through the load balancer's {} door", door_label(&door)),
        None => "directly: not through a load balancer".to_owned(),
    };
    view! {
        <section class="card wide">
            <h1>"Several servers, one browser"</h1>
            <p class="lead" data-testid="cluster-where">
                "Instance " <strong data-testid="cluster-instance">{instance}</strong>
                " answered the last look at this page; your browser came " {came_through}
                ". Cookie sessions are kept in " {session_store.label()}
                "; JWT revocation is " <code>{revocation.key()}</code> "."
            </p>
            <p>"What the articles predict for the drill below:"</p>
            <ul class="predictions" data-testid="cluster-prediction">
                <li class:current=session_store == SessionStoreKind::Memory>
                    <strong>"Sessions in each server's memory, round-robin door: "</strong>
                    "two requests in three land on an instance that never saw your session. "
                    "The first of them signs your browser out, everywhere."
                </li>
                <li class:current=session_store == SessionStoreKind::Memory>
                    <strong>"Sessions in memory, sticky door: "</strong>
                    "every request goes to the instance that has your session, until that "
                    "instance is taken out or dies: then you are signed out."
                </li>
                <li class:current=session_store != SessionStoreKind::Memory>
                    <strong>"Sessions in a shared store (PostgreSQL, Redis): "</strong>
                    "every instance recognises you, on either door, at the price of a trip to the "
                    "store on each request; an instance taken out signs nobody out."
                </li>
                <li>
                    <strong>"JWT: "</strong>
                    "every instance recognises you by the signature alone: nothing shared per "
                    "request, and nothing any instance can take back before the token expires "
                    "(unless revocation is " <code>"denylist"</code> " with a shared Redis)."
                </li>
            </ul>
        </section>
    }
}

fn door_label(door: &str) -> &str {
    match door {
        "round-robin" => "round-robin",
        "sticky" => "sticky",
        _ => "(unnamed)",
    }
}

/// A drill that runs in the browser, with the browser's own credentials: its last report,
/// whether one is running, and whether it can run at all. Effects run only in the browser,
/// once the page is hydrated: until then (and with JavaScript off) it cannot, and the page says
/// so.
struct BrowserDrill<T: Send + Sync + 'static> {
    report: RwSignal<Option<T>>,
    running: RwSignal<bool>,
    ready: RwSignal<bool>,
}

impl<T: Send + Sync + 'static> Clone for BrowserDrill<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for BrowserDrill<T> {}

impl<T: Send + Sync + 'static> BrowserDrill<T> {
    fn new() -> Self {
        let ready = RwSignal::new(false);
        Effect::new(move |_| ready.set(true));
        BrowserDrill {
            report: RwSignal::new(None),
            running: RwSignal::new(false),
            ready,
        }
    }

    /// Runs `drill` and keeps its report, unless one is running already.
    fn run(self, drill: impl std::future::Future<Output = T> + 'static) {
        if self.running.get_untracked() {
            return;
        }
        self.running.set(true);
        leptos::task::spawn_local(async move {
            self.report.set(Some(drill.await));
            self.running.set(false);
        });
    }
}

/// Requests a drill sends unless told otherwise: ten for each of three instances.
const DEFAULT_DRILL: u32 = 30;

/// The drill: requests from this browser, counted per instance.
#[component]
fn Drill() -> impl IntoView {
    let requests_drill = BrowserDrill::<DrillReport>::new();
    let BrowserDrill {
        report,
        running,
        ready,
    } = requests_drill;
    // Read when the drill starts, not mirrored into a signal: a number typed before the page
    // hydrated is kept, and counts.
    let requests_input = NodeRef::<leptos::html::Input>::new();
    let run = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let requests = requests_input
            .get_untracked()
            .and_then(|input| input.value().trim().parse::<u32>().ok())
            .unwrap_or(DEFAULT_DRILL)
            .clamp(1, MAX_DRILL);
        requests_drill.run(drill(requests));
    };
    view! {
        <section class="card wide">
            <h2>"The drill"</h2>
            <p>
                "Sends requests one after the other from this browser, with its own cookies, to "
                "this page's address, and counts at each instance how many recognised you."
            </p>
            <form class="form inline-form" on:submit=run>
                <div class="field">
                    <label for="drill-requests">"Requests"</label>
                    <input
                        id="drill-requests"
                        type="number"
                        name="requests"
                        min="1"
                        max=MAX_DRILL
                        value=DEFAULT_DRILL
                        node_ref=requests_input
                    />
                </div>
                <button
                    type="submit"
                    class="button"
                    data-testid="run-drill"
                    disabled=move || running.get() || !ready.get()
                >
                    {move || if running.get() { "Sending…" } else { "Send the requests" }}
                </button>
            </form>
            <p class="hint" hidden=ready data-testid="drill-needs-javascript">
                "The drill runs in your browser, so that its requests carry your own cookies: it "
                "needs JavaScript."
            </p>
            {move || report.get().map(|report| view! { <DrillResult report /> })}
        </section>
    }
}

#[component]
fn DrillResult(report: DrillReport) -> impl IntoView {
    let rows = report
        .by_instance
        .iter()
        .map(|(instance, tally)| {
            view! {
                <tr data-instance=instance.clone()>
                    <th scope="row">{instance.clone()}</th>
                    <td data-testid="drill-recognised">{tally.recognised}</td>
                    <td data-testid="drill-not-recognised">{tally.not_recognised}</td>
                    <td>
                        {tally
                            .median_micros()
                            .map(|micros| format!("{micros:.0} µs"))
                            .unwrap_or_default()}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let after = if report.signed_in_after {
        "After the drill, your browser is still signed in."
    } else {
        "After the drill, your browser is signed out."
    };
    view! {
        <div class="table-scroll">
            <table class="claims" data-testid="drill-result">
                <thead>
                    <tr>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Recognised you"</th>
                        <th scope="col">"Found no session"</th>
                        <th scope="col">"Recognising took (median)"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p data-testid="drill-summary">
            {format!(
                "{} of {} requests recognised, by {} instance{}. ",
                report.recognised(),
                report.sent,
                report.by_instance.len(),
                if report.by_instance.len() == 1 { "" } else { "s" },
            )}
            <strong data-testid="drill-after">{after}</strong>
        </p>
        {(report.failed > 0)
            .then(|| {
                view! {
                    <p class="alert" role="alert" data-testid="drill-failed">
                        {format!(
                            "{} of {} requests got no answer: {}",
                            report.failed,
                            report.sent,
                            report.last_failure.clone().unwrap_or_default(),
                        )}
                    </p>
                }
            })}
    }
}

/// What the kill-reach drill saw at one instance, after the kill was answered.
#[derive(Debug, Clone, Default, PartialEq)]
struct Reach {
    /// Probes it still let the killed token in.
    let_in: u32,
    /// When it first refused the token, in ms after the kill was answered.
    refused_after_ms: Option<f64>,
}

/// One kill-reach drill.
#[derive(Debug, Clone, Default, PartialEq)]
struct KillReachReport {
    /// Whether the drill's token was let in before the kill (if not, there was nothing to see).
    let_in_before: bool,
    probes: u32,
    /// From the kill's answer to the last probe's, in ms.
    elapsed_ms: f64,
    by_instance: BTreeMap<String, Reach>,
}

impl KillReachReport {
    /// When the last instance to learn of the kill first refused the token, if every instance
    /// that answered has.
    fn reached_every_instance_after_ms(&self) -> Option<f64> {
        let mut last: Option<f64> = None;
        for reach in self.by_instance.values() {
            let refused = reach.refused_after_ms?;
            last = Some(last.map_or(refused, |last| last.max(refused)));
        }
        last
    }
}

/// Milliseconds on the browser's clock.
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64() * 1000.0)
    }
}

/// Probes after the kill before the drill may stop: behind the round-robin door, enough to meet
/// each of three instances four times.
const KILL_REACH_MIN_PROBES: u32 = 12;
/// The most probes one kill-reach drill sends after the kill.
const KILL_REACH_MAX_PROBES: u32 = 300;
/// How long a kill-reach drill keeps probing a token that some instance still lets in, in ms.
const KILL_REACH_PATIENCE_MS: f64 = 2_000.0;

/// Signs the user in once more by JWT, checks that the token is let in, kills that device, then
/// asks instance after instance (through this page's door) whether they still let it in, until
/// every instance met has refused it, or [`KILL_REACH_PATIENCE_MS`] has passed.
async fn kill_reach() -> Result<KillReachReport, AppError> {
    let token = kill_reach_device().await?.access_token;
    let mut report = KillReachReport {
        let_in_before: kill_reach_probe(token.clone()).await?.recognised,
        ..KillReachReport::default()
    };
    kill_reach_kill(token.clone()).await?;
    let killed_at = now_ms();
    while report.let_in_before && report.probes < KILL_REACH_MAX_PROBES {
        let probe = kill_reach_probe(token.clone()).await?;
        let at = now_ms() - killed_at;
        report.probes += 1;
        report.elapsed_ms = at;
        let reach = report.by_instance.entry(probe.instance).or_default();
        if probe.recognised {
            reach.let_in += 1;
        } else if reach.refused_after_ms.is_none() {
            reach.refused_after_ms = Some(at);
        }
        let met_enough = report.probes >= KILL_REACH_MIN_PROBES;
        if (met_enough && report.reached_every_instance_after_ms().is_some())
            || at > KILL_REACH_PATIENCE_MS
        {
            break;
        }
    }
    Ok(report)
}

/// The kill-reach drill: how long a JWT kill takes to reach every instance.
#[component]
fn KillReach() -> impl IntoView {
    let reach = BrowserDrill::<Result<KillReachReport, AppError>>::new();
    let BrowserDrill {
        report,
        running,
        ready,
    } = reach;
    let run = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        reach.run(kill_reach());
    };
    view! {
        <section class="card wide">
            <h2>"How far a kill reaches"</h2>
            <p>
                "Signs you in once more by JWT (a device of its own), kills that device, then asks "
                "instance after instance, through this page's door, whether it still lets the "
                "killed access token in. Under " <code>"denylist"</code>
                " the kill travels to every instance through Redis; under " <code>"pure"</code>
                " no instance learns of it before the token expires."
            </p>
            <form class="form inline-form" on:submit=run>
                <button
                    type="submit"
                    class="button"
                    data-testid="run-kill-reach"
                    disabled=move || running.get() || !ready.get()
                >
                    {move || if running.get() { "Measuring…" } else { "Kill a device and watch" }}
                </button>
            </form>
            <p class="hint" hidden=ready>
                "The drill runs in your browser, through the door you came in by: it needs "
                "JavaScript."
            </p>
            {move || {
                report
                    .get()
                    .map(|report| match report {
                        Ok(report) => view! { <KillReachResult report /> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="alert" role="alert" data-testid="kill-reach-failed">
                                    {error.to_string()}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </section>
    }
}

#[component]
fn KillReachResult(report: KillReachReport) -> impl IntoView {
    if !report.let_in_before {
        return view! {
            <p class="alert" role="alert" data-testid="kill-reach-summary">
                "The drill's own token was not let in even before the kill: nothing to measure."
            </p>
        }
        .into_any();
    }
    let rows = report
        .by_instance
        .iter()
        .map(|(instance, reach)| {
            view! {
                <tr data-instance=instance.clone()>
                    <th scope="row">{instance.clone()}</th>
                    <td data-testid="kill-reach-let-in">{reach.let_in}</td>
                    <td data-testid="kill-reach-refused-after">
                        {reach
                            .refused_after_ms
                            .map_or_else(
                                || "never, while the drill watched".to_owned(),
                                |ms| format!("{ms:.0} ms"),
                            )}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let instances = report.by_instance.len();
    let summary = match report.reached_every_instance_after_ms() {
        Some(ms) if report.by_instance.values().all(|reach| reach.let_in == 0) => format!(
            "Every instance that answered ({instances}) refused the killed token the first time \
             it was asked, the last of them {ms:.0} ms after the kill's answer: the kill was \
             there before the drill could ask ({} probes).",
            report.probes
        ),
        Some(ms) => format!(
            "The kill reached every instance that answered ({instances}) within {ms:.0} ms of \
             its answer ({} probes).",
            report.probes
        ),
        None => {
            let still = report
                .by_instance
                .values()
                .filter(|reach| reach.refused_after_ms.is_none())
                .count();
            format!(
                "{still} of {instances} instances still let the killed token in after {:.1} s \
                 ({} probes): they will refuse it only when it expires.",
                report.elapsed_ms / 1000.0,
                report.probes
            )
        }
    };
    // Behind the sticky door (or on a lone server) every probe meets the same instance.
    let one_instance = (instances == 1).then(|| {
        view! {
            <p class="hint" data-testid="kill-reach-one-instance">
                "Only one instance answered: a lone server, or the sticky door, which sends every \
                 request to the same one. Through the round-robin door the drill meets them all."
            </p>
        }
    });
    view! {
        <div class="table-scroll">
            <table class="claims" data-testid="kill-reach-result">
                <thead>
                    <tr>
                        <th scope="col">"Instance"</th>
                        <th scope="col">"Let the killed token in"</th>
                        <th scope="col">"First refused it"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p data-testid="kill-reach-summary">{summary}</p>
        {one_instance}
    }
    .into_any()
}

/// What the load balancer does with each instance, and (for an administrator) the buttons that
/// take one out and put it back.
#[component]
fn BalancerCard(
    balancer: Balancer,
    can_operate: bool,
    operate: ServerAction<SetInstanceTakenOut>,
) -> impl IntoView {
    let error: Signal<Option<AppError>> = last_error(operate.value());
    let instance_error = field_error(error, "instance");
    // Not both: the form's "correct the fields" line has no field to point at here.
    let other_error = Signal::derive(move || {
        error
            .get()
            .filter(|error| error.field("instance").is_none())
    });
    let body = match balancer {
        Balancer::NotConfigured => view! {
            <p data-testid="balancer-none">
                "This server knows no load balancer (" <code>"HAPROXY_SOCKET"</code>
                " is not set): it runs alone, and every request reaches it. "
                <code>"make cluster"</code>
                " starts three instances behind HAProxy, with a round-robin door and a sticky one."
            </p>
        }
        .into_any(),
        Balancer::SignInToSee => view! {
            <p data-testid="balancer-sign-in">
                <a href="/login?next=/cluster">"Sign in"</a>
                " to see what the load balancer does with each instance."
            </p>
        }
        .into_any(),
        Balancer::Unreachable => view! {
            <p class="alert" role="alert" data-testid="balancer-unreachable">
                "The load balancer's runtime API did not answer."
            </p>
        }
        .into_any(),
        Balancer::Servers(servers) => {
            view! { <ServerTable servers can_operate operate /> }.into_any()
        }
    };
    view! {
        <section class="card wide">
            <h2>"The load balancer"</h2>
            {body}
            {move || {
                instance_error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="alert" role="alert" data-testid="balancer-error">
                                {message}
                            </p>
                        }
                    })
            }}
            <FormError error=other_error />
        </section>
    }
}

#[component]
fn ServerTable(
    servers: Vec<BalancedServer>,
    can_operate: bool,
    operate: ServerAction<SetInstanceTakenOut>,
) -> impl IntoView {
    // One row per instance, one column per door.
    let mut doors: Vec<String> = Vec::new();
    let mut instances: BTreeMap<String, BTreeMap<String, ServerState>> = BTreeMap::new();
    for server in servers {
        if !doors.contains(&server.door) {
            doors.push(server.door.clone());
        }
        instances
            .entry(server.instance)
            .or_default()
            .insert(server.door, server.state);
    }
    let header = doors
        .iter()
        .map(|door| view! { <th scope="col">{format!("{} door", door.replace('_', "-"))}</th> })
        .collect_view();
    let rows = instances
        .into_iter()
        .map(|(instance, states)| {
            let taken_out = states.values().any(|state| *state == ServerState::TakenOut);
            let cells = doors
                .iter()
                .map(|door| {
                    let state = states.get(door).copied().unwrap_or(ServerState::Other);
                    view! { <td data-state=format!("{state:?}")>{state.label()}</td> }
                })
                .collect_view();
            let name = instance.clone();
            let button = can_operate.then(move || {
                let instance = name;
                view! {
                    <td>
                        <ActionForm action=operate attr:class="inline">
                            <input type="hidden" name="instance" value=instance.clone() />
                            <input
                                type="hidden"
                                name="taken_out"
                                value=if taken_out { "false" } else { "true" }
                            />
                            <button
                                type="submit"
                                class="button secondary"
                                data-testid=format!("operate-{instance}")
                                disabled=move || operate.pending().get()
                            >
                                {if taken_out { "Put back" } else { "Take out" }}
                            </button>
                        </ActionForm>
                    </td>
                }
            });
            view! {
                <tr data-instance=instance.clone()>
                    <th scope="row">{instance.clone()}</th>
                    {cells}
                    {button}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="claims" data-testid="balancer">
                <thead>
                    <tr>
                        <th scope="col">"Instance"</th>
                        {header}
                        {can_operate
                            .then(|| {
                                view! {
                                    <th scope="col">
                                        <span class="visually-hidden">"Action"</span>
                                    </th>
                                }
                            })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p class="hint">
            {if can_operate {
                "Take an instance out and run the drill again: with sessions in memory, the sticky \
                 door's browsers that stuck to it are signed out; with a shared store, nobody is."
            } else {
                "An administrator can take an instance out from here (ticketbooth make-admin NAME)."
            }}
        </p>
    }
}
