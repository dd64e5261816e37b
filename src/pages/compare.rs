//! `/compare`: both modes side by side, from live traffic, and a burst of load on demand.

use leptos::prelude::*;
use leptos_meta::Title;

use super::form::{FormError, last_error};
use crate::{
    api::{GenerateLoad, compare},
    model::{
        Column, Comparison, CostColumn, Floors, KillEffect, MAX_BURST, MemoryUse, PREDICTED_ORDER,
        SessionFootprint, SessionStoreKind, StoreRead, describe_seconds,
    },
};

#[component]
pub fn ComparePage() -> impl IntoView {
    let burst = ServerAction::<GenerateLoad>::new();
    let comparison = Resource::new(move || burst.version().get(), |_| compare());
    let error = last_error(burst.value());
    view! {
        <Title text="Compare" />
        <section class="card">
            <h1>"Sessions and JWTs, measured on this server"</h1>
            <p class="lead">
                "Every request the server recognises is measured: the time spent recognising it, "
                "the database queries that took, and the bytes of credentials the browser sent. "
                "These are the latest figures, per mode and per JWT revocation setting."
            </p>
            <ActionForm action=burst attr:class="form inline-form">
                <div class="field">
                    <label for="requests-input">"Requests in each column"</label>
                    <input
                        id="requests-input"
                        type="number"
                        name="requests"
                        value="200"
                        min="1"
                        max=MAX_BURST
                    />
                </div>
                <button
                    type="submit"
                    class="button"
                    data-testid="generate-load"
                    disabled=move || burst.pending().get()
                >
                    {move || if burst.pending().get() { "Measuring…" } else { "Generate load" }}
                </button>
            </ActionForm>
            <p class="hint">
                "The burst signs you in once more in each mode (a “ticketbooth load generator” "
                "device), sends the requests, then signs those devices out and checks whether "
                "the next request still gets in: the kill drill. At most " {MAX_BURST}
                " per column, one burst at a time, and 10 seconds between two of yours. You need "
                "to be signed in."
            </p>
            <FormError error />
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                comparison
                    .get()
                    .map(|comparison| match comparison {
                        Ok(comparison) => view! { <Figures comparison /> }.into_any(),
                        Err(error) => {
                            view! { <p class="alert" role="alert">{error.to_string()}</p> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn Figures(comparison: Comparison) -> impl IntoView {
    let Comparison {
        columns,
        floors,
        session_footprint,
        store_reads,
        revocation,
        session_store,
        access_ttl,
    } = comparison;
    let access_ttl = describe_seconds(access_ttl);
    let row = |label: &'static str, test_id: &'static str, cell: &dyn Fn(&CostColumn) -> String| {
        let cells = columns
            .iter()
            .map(|column| {
                view! {
                    <td>
                        <span class="fact-label">{column.column.label()}</span>
                        <span data-column=column.column.key()>{cell(column)}</span>
                    </td>
                }
            })
            .collect_view();
        view! {
            <tr data-testid=test_id>
                <th scope="row">{label}</th>
                {cells}
            </tr>
        }
    };
    view! {
        <section class="card">
            <h2>"Time to recognise a request"</h2>
            <Chart columns=columns.clone() />
        </section>
        <section class="card wide">
            <h2>"Side by side"</h2>
            <div class="table-scroll">
                <table class="compare" data-testid="compare-table">
                    <thead>
                        <tr>
                            <th scope="col"><span class="visually-hidden">"Measure"</span></th>
                            {columns
                                .iter()
                                .map(|column| view! { <th scope="col">{column.column.label()}</th> })
                                .collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {row("Requests measured", "row-requests", &|c| c.requests.to_string())}
                        {row("Median", "row-median", &|c| micros(c.requests, c.median_micros))}
                        {row("p99", "row-p99", &|c| micros(c.requests, c.p99_micros))}
                        {row(
                            "Database queries per request",
                            "row-queries",
                            &|c| per_request(c.requests, c.queries_per_request, ""),
                        )}
                        {row(
                            "Credentials per request",
                            "row-bytes",
                            &|c| per_request(c.requests, c.bytes_per_request, " bytes"),
                        )}
                        {row(
                            "Its floor on this server",
                            "row-floor",
                            &|c| floor(c.column, floors, session_store),
                        )}
                        {row("A kill takes effect", "row-kill", &|c| kill_effect(c.kill_takes_effect))}
                        {row(
                            "Server memory it needs",
                            "row-memory",
                            &|c| memory(c.memory, session_store, session_footprint),
                        )}
                    </tbody>
                </table>
            </div>
            {floors
                .map(|floors| {
                    view! {
                        <p data-testid="argon2">
                            "Checking the password on every request instead, the problem tickets "
                            "solve: one argon2id verification with this server's parameters took "
                            {micros(1, floors.argon2_micros)} " here."
                        </p>
                    }
                })}
            <StoreReads reads=store_reads own=session_store />
            <p class="hint" data-testid="server-settings">
                "This server keeps cookie sessions in " {session_store.label()}
                "; its own JWT revocation setting is " <code>{revocation.key()}</code>
                " (JWT_REVOCATION); access tokens live " {access_ttl}
                ". The denylist is per server: behind a load balancer every server needs the "
                "kill, or a shared list."
            </p>
        </section>
    }
}

/// Every store the server can reach, reading one session, beside the order the articles
/// predict.
#[component]
fn StoreReads(reads: Vec<StoreRead>, own: SessionStoreKind) -> impl IntoView {
    if reads.is_empty() {
        return None;
    }
    let rows = reads
        .iter()
        .map(|read| {
            view! {
                <tr data-store=read.store.key()>
                    <th scope="row">
                        {read.store.short_label()}
                        {(read.store == own).then_some(" · this server's")}
                    </th>
                    <td>{micros(1, read.median_micros)}</td>
                    <td>{micros(1, read.p99_micros)}</td>
                    <td>
                        {read
                            .floor_micros
                            .map_or_else(|| "none: in this process".to_owned(), |floor| micros(1, floor))}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let measured: Vec<SessionStoreKind> = reads.iter().map(|read| read.store).collect();
    let predicted: Vec<SessionStoreKind> = PREDICTED_ORDER
        .into_iter()
        .filter(|store| measured.contains(store))
        .collect();
    let verdict = if measured == predicted {
        "The measurements agree."
    } else {
        "The measurements disagree: here, the order is the one in the table."
    };
    Some(view! {
        <h3 class="part-title">"Where the server keeps its half: reading one session"</h3>
        <div class="table-scroll">
            <table class="claims" data-testid="store-reads">
                <thead>
                    <tr>
                        <th scope="col">"Store, cheapest first"</th>
                        <th scope="col">"Median"</th>
                        <th scope="col">"p99"</th>
                        <th scope="col">"Its floor: a bare round trip"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <p data-testid="store-prediction">
            "The articles predict desk < shared desk < drawer < warehouse. " {verdict}
            " Each store this server can reach is measured: a memory store of the burst's own, "
            "this server's database, and Redis when REDIS_URL names one."
        </p>
    })
}

/// The least the column's way could cost here, as the last burst measured it.
fn floor(column: Column, floors: Option<Floors>, session_store: SessionStoreKind) -> String {
    let Some(floors) = floors else {
        return "not measured yet: generate load".to_owned();
    };
    let decode = format!(
        "decode alone {} (an HS256 HMAC {}, an EdDSA verification {})",
        micros(1, floors.jwt_decode_micros),
        micros(1, floors.hmac_micros),
        micros(1, floors.ed25519_verify_micros)
    );
    let read = match (
        floors.sqlite_read_micros,
        floors.sqlite_pool_read_micros,
        floors.redis_round_trip_micros,
        floors.postgres_round_trip_micros,
    ) {
        (Some(read), Some(pooled), _, _) => format!(
            "the row read {} (through the pool {}); a session read before and kept skips it, \
             checking only that nothing has changed it since",
            micros(1, read),
            micros(1, pooled)
        ),
        (_, _, Some(round_trip), _) => {
            format!("one bare Redis round trip {}", micros(1, round_trip))
        }
        (_, _, _, Some(round_trip)) if session_store == SessionStoreKind::Postgres => {
            format!("one bare PostgreSQL round trip {}", micros(1, round_trip))
        }
        _ => "a lookup in this process's memory".to_owned(),
    };
    match column {
        Column::Session => read,
        Column::JwtPure | Column::JwtDenylist => decode,
        Column::JwtSessionCheck => format!("{decode}, and the family's row read"),
    }
}

fn kill_effect(effect: Option<KillEffect>) -> String {
    match effect {
        None => "not measured yet: generate load".to_owned(),
        Some(KillEffect::AtOnce) => "at once: the next request is refused (measured)".to_owned(),
        Some(KillEffect::AtExpiry { seconds_after_kill }) => format!(
            "not until the token expires: {} after the kill (measured)",
            describe_seconds(seconds_after_kill)
        ),
    }
}

/// What the column keeps, and for the cookie session what each session costs where it is kept.
fn memory(
    memory: MemoryUse,
    store: SessionStoreKind,
    footprint: Option<SessionFootprint>,
) -> String {
    let each = || bytes_per_session(store, footprint);
    match memory {
        MemoryUse::Nothing => "none".to_owned(),
        MemoryUse::SessionRows => format!("none: sessions are rows in the database; {}", each()),
        MemoryUse::EverySession => format!("every live session: {}", each()),
        MemoryUse::SharedStore => format!("none here: sessions are in Redis; {}", each()),
        MemoryUse::Denylist { entries: 1, bytes } => {
            format!("1 revoked token id, about {bytes} bytes")
        }
        MemoryUse::Denylist { entries, bytes } => {
            format!("{entries} revoked token ids, about {bytes} bytes")
        }
    }
}

/// What the store spends per session, as it counted itself at the last burst.
fn bytes_per_session(store: SessionStoreKind, footprint: Option<SessionFootprint>) -> String {
    let Some(SessionFootprint {
        bytes_per_session: bytes,
        sessions,
        measured_over,
    }) = footprint
    else {
        return "bytes per session not measured yet: generate load".to_owned();
    };
    if measured_over == 0 {
        return "no session to measure".to_owned();
    }
    let over = match sessions {
        Some(1) if measured_over == 1 => "over its one session".to_owned(),
        Some(all) if all == measured_over => format!("over all {all} sessions"),
        Some(all) => format!("over a sample of {measured_over} of {all} sessions"),
        None => format!("over a sample of {measured_over} sessions"),
    };
    match store {
        SessionStoreKind::Memory => format!(
            "about {bytes} bytes each (estimated {over}); a million sessions would take \
             about {} of this server's memory",
            describe_bytes(bytes.saturating_mul(1_000_000))
        ),
        SessionStoreKind::Sqlite => {
            format!("{bytes} bytes each in use in the file's pages, the indexes included ({over})")
        }
        SessionStoreKind::Postgres => format!(
            "{bytes} bytes each on disk, the indexes included ({over}); PostgreSQL counts whole \
             8 KB pages, so a few sessions look costly"
        ),
        SessionStoreKind::Redis => {
            format!("about {bytes} bytes each of Redis's memory, its user index included ({over})")
        }
    }
}

/// `bytes` in the largest unit that keeps a number of one digit or more.
fn describe_bytes(bytes: u64) -> String {
    let bytes = bytes as f64;
    match bytes {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.0} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.0} KB", b / 1e3),
        b => format!("{b:.0} bytes"),
    }
}

fn micros(requests: usize, value: f64) -> String {
    if requests == 0 {
        "—".into()
    } else if value >= 10_000.0 {
        format!("{:.0} ms", value / 1000.0)
    } else if value >= 10.0 {
        format!("{value:.0} µs")
    } else {
        format!("{value:.1} µs")
    }
}

fn per_request(requests: usize, value: f64, unit: &str) -> String {
    if requests == 0 {
        "—".into()
    } else {
        format!("{value:.1}{unit}")
    }
}

/// Median and p99 of each column as horizontal bars on one scale.
#[component]
fn Chart(columns: Vec<CostColumn>) -> impl IntoView {
    const LABEL_WIDTH: f64 = 170.0;
    const BAR_WIDTH: f64 = 440.0;
    const ROW: f64 = 46.0;
    let longest = columns
        .iter()
        .map(|column| column.p99_micros)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let height = ROW * columns.len() as f64 + 24.0;
    let bars = columns
        .into_iter()
        .enumerate()
        .map(|(index, column)| {
            let top = index as f64 * ROW;
            let median = column.median_micros / longest * BAR_WIDTH;
            let p99 = column.p99_micros / longest * BAR_WIDTH;
            let text = if column.requests == 0 {
                "no requests yet".to_owned()
            } else {
                format!(
                    "median {:.0} µs · p99 {:.0} µs",
                    column.median_micros, column.p99_micros
                )
            };
            view! {
                <g class="chart-row" data-column=column.column.key()>
                    <text x="0" y=top + 18.0 class="chart-label">{column.column.label()}</text>
                    <rect x=LABEL_WIDTH y=top + 4.0 width=p99 height="12" class="bar-p99" />
                    <rect x=LABEL_WIDTH y=top + 4.0 width=median height="12" class="bar-median" />
                    <text x=LABEL_WIDTH y=top + 32.0 class="chart-value">{text}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="chart"
            viewBox=format!("0 0 {} {height}", LABEL_WIDTH + BAR_WIDTH + 10.0)
            role="img"
            aria-label="Median and p99 time to recognise a request, per column"
            data-testid="compare-chart"
        >
            {bars}
        </svg>
        <p class="legend">
            <span class="swatch median"></span>
            " median "
            <span class="swatch p99"></span>
            " p99 (the slowest 1 %)"
        </p>
    }
}
