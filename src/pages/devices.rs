//! `/devices`: every place the user is signed in, and the buttons that end them.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    form::{FormError, last_error},
    layout::SignInRequired,
};
use crate::{
    api::{KillAllDevices, KillDevice, KillOtherDevices, SwitchMode, TheftDrill, devices},
    model::{
        DeviceView, Killed, Lifetime, Mode, Moment, RevocationReason, TheftDrillReport,
        describe_seconds,
    },
};

/// A moment as relative words, with the exact UTC time on hover.
#[component]
pub fn When(moment: Moment) -> impl IntoView {
    view! {
        <time datetime=moment.unix.to_string() title=moment.utc>
            {moment.relative}
        </time>
    }
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let kill = ServerAction::<KillDevice>::new();
    let kill_others = ServerAction::<KillOtherDevices>::new();
    let kill_all = ServerAction::<KillAllDevices>::new();
    let drill = ServerAction::<TheftDrill>::new();
    let switch = expect_context::<ServerAction<SwitchMode>>();
    let devices = Resource::new(
        move || {
            (
                kill.version().get(),
                kill_others.version().get(),
                switch.version().get(),
                drill.version().get(),
            )
        },
        |_| devices(),
    );
    let kill_error = last_error(kill.value());
    let kill_others_error = last_error(kill_others.value());
    let kill_all_error = last_error(kill_all.value());
    view! {
        <Title text="Devices" />
        <section class="card wide">
            <div class="card-head">
                <h1>"Your devices"</h1>
                <div class="actions">
                    <ActionForm action=kill_others attr:class="inline">
                        <button
                            type="submit"
                            class="button danger"
                            data-testid="kill-others"
                            disabled=move || kill_others.pending().get()
                        >
                            "Sign out all other devices"
                        </button>
                    </ActionForm>
                    <ActionForm action=kill_all attr:class="inline">
                        <button
                            type="submit"
                            class="button secondary"
                            data-testid="kill-all"
                            disabled=move || kill_all.pending().get()
                        >
                            "Sign out everywhere"
                        </button>
                    </ActionForm>
                </div>
            </div>
            <p class="lead">
                "A cookie session ends the moment its row is deleted: that browser's next request "
                "finds nothing. A JWT device can only lose its refresh tokens: the access token it "
                "holds works until it expires, and the list says until when."
            </p>
            <FormError error=kill_error />
            <FormError error=kill_others_error />
            <FormError error=kill_all_error />
            {move || {
                kill.value().get().and_then(Result::ok).map(|killed| view! { <KillNotice killed /> })
            }}
            {move || {
                kill_others
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|ended| {
                        let noun = if ended == 1 { "device" } else { "devices" };
                        view! {
                            <p class="notice" role="status">
                                {format!("Signed out {ended} other {noun}.")}
                            </p>
                        }
                    })
            }}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    devices
                        .get()
                        .map(|devices| match devices {
                            Ok(devices) => {
                                let this_jwt_device = devices
                                    .iter()
                                    .find(|device| device.is_current && device.mode == Mode::Jwt)
                                    .map(|device| device.revoked.is_some());
                                view! {
                                    <DeviceTable devices kill />
                                    {this_jwt_device
                                        .map(|revoked| view! { <DrillPanel drill revoked /> })}
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <SignInRequired error /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}

/// The theft drill: rotation's promise that a copied refresh token is caught, run on this
/// browser's own token.
#[component]
fn DrillPanel(
    drill: ServerAction<TheftDrill>,
    /// This device is already revoked: there is nothing left to drill.
    revoked: bool,
) -> impl IntoView {
    let error = last_error(drill.value());
    view! {
        <section class="drill" data-testid="theft-drill">
            <h2>"Theft drill"</h2>
            <p>
                "Rotation promises to catch a stolen refresh token: each refresh spends the token "
                "and hands out the next, so when a thief and the owner both use one, the second "
                "use gives the theft away and the server revokes the whole device. Try it: the "
                "server exchanges this browser's refresh token as you would, then replays the "
                "spent one as a thief who copied it would, then tries the token you just got."
            </p>
            <p class="hint">
                "A replay within the grace window (a few seconds: two tabs refreshing at once) "
                "gets the same successor instead. The drill cannot wait that long, so it skips "
                "the window and says so. This browser is signed out by it."
            </p>
            <FormError error=error />
            <ActionForm action=drill attr:class="inline">
                <button
                    type="submit"
                    class="button danger"
                    data-testid="run-theft-drill"
                    disabled=move || revoked || drill.pending().get()
                >
                    "Replay my previous refresh token as a thief would"
                </button>
            </ActionForm>
            {move || {
                drill.value().get().and_then(Result::ok).map(|report| view! { <DrillReport report /> })
            }}
        </section>
    }
}

#[component]
fn DrillReport(report: TheftDrillReport) -> impl IntoView {
    let access = match report.access_valid_until {
        Some(until) => format!(
            "The access token this browser holds still works until {} ({}): no refresh will \
             follow it.",
            until.utc, until.relative
        ),
        None => "This server checks every access token against its device, so this browser's \
                 is refused from now on."
            .to_owned(),
    };
    view! {
        <dl class="facts" data-testid="drill-report">
            <dt>"The thief's replay"</dt>
            <dd data-testid="drill-thief">{report.thief_refused}</dd>
            <dt>"Your next refresh"</dt>
            <dd data-testid="drill-owner">{report.owner_refused}</dd>
            <dt>"Grace window skipped"</dt>
            <dd>{format!("{} seconds", report.grace_seconds)}</dd>
            <dt>"This browser"</dt>
            <dd>{access}</dd>
        </dl>
        {report
            .reuse_detected
            .then(|| {
                view! {
                    <p>
                        "The " <a href="/activity">"activity log"</a>
                        " now says: refresh-token reuse detected (by the drill)."
                    </p>
                }
            })}
    }
}

/// What a sign-out did, said plainly: a JWT device keeps its access token until it expires.
#[component]
fn KillNotice(killed: Killed) -> impl IntoView {
    let text = match (killed.mode, killed.access_valid_until) {
        (Mode::Jwt, None) => {
            "Signed out: that device's refresh tokens are revoked, and this server \
                              checks every access token against its device, so it is refused from \
                              now on."
                .to_owned()
        }
        (_, Some(until)) => format!(
            "Signed out: that device's refresh tokens are revoked, so it cannot renew. The access \
             token it already holds stays valid until {} ({}): a JWT cannot be called back.",
            until.utc, until.relative
        ),
        (Mode::Session, None) => {
            "Signed out: its session row is deleted, so its next request is anonymous.".into()
        }
    };
    view! {
        <p class="notice" role="status" data-testid="kill-notice">
            {text}
        </p>
    }
}

/// A table on a wide screen; on a phone each row is a card whose cells name their own facts
/// (`.fact-label`, shown only there), so that nothing is cut off or scrolls sideways.
#[component]
fn DeviceTable(devices: Vec<DeviceView>, kill: ServerAction<KillDevice>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="devices">
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Mode"</th>
                        <th scope="col">"IP address"</th>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last active"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col"><span class="visually-hidden">"Action"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {devices
                        .into_iter()
                        .map(|device| {
                            let is_current = device.is_current;
                            let is_revoked = device.revoked.is_some();
                            view! {
                                <tr
                                    data-testid="device-row"
                                    data-mode=device.mode.key()
                                    class:current=is_current
                                    class:revoked=is_revoked
                                >
                                    <td class="device-name">
                                        {device.device}
                                        " "
                                        <a
                                            class="device-activity"
                                            href=format!("/activity?device={}", device.id)
                                            data-testid="device-activity"
                                        >
                                            "activity"
                                        </a>
                                        {is_current
                                            .then(|| {
                                                view! {
                                                    <span class="badge" data-testid="this-device">
                                                        "this device"
                                                    </span>
                                                }
                                            })}
                                    </td>
                                    <td>
                                        <span class="fact-label">"Mode"</span>
                                        <span class="mode-badge" data-mode=device.mode.key()>
                                            {device.mode.label()}
                                        </span>
                                    </td>
                                    <td>
                                        <span class="fact-label">"IP address"</span>
                                        <code>{device.ip}</code>
                                    </td>
                                    <td>
                                        <span class="fact-label">"Signed in"</span>
                                        <When moment=device.created />
                                    </td>
                                    <td>
                                        <span class="fact-label">"Last active"</span>
                                        <When moment=device.last_active />
                                    </td>
                                    <td>
                                        <span class="fact-label">"Expires"</span>
                                        <When moment=device.expires />
                                        {(!is_revoked)
                                            .then(|| {
                                                view! {
                                                    <span
                                                        class="hint lifetime"
                                                        data-testid="device-lifetime"
                                                    >
                                                        {lifetime_words(device.remembered, device.lifetime)}
                                                        <When moment=device.ends_at_latest />
                                                        " at the latest"
                                                    </span>
                                                }
                                            })}
                                    </td>
                                    <td>
                                        {match device.revoked {
                                            Some(revoked) => {
                                                view! {
                                                    <span class="revoked" data-testid="revoked">
                                                        {reason_words(revoked.reason)}
                                                        {match revoked.access_valid_until {
                                                            Some(until) => {
                                                                view! {
                                                                    "; access token valid until "
                                                                    <When moment=until />
                                                                }
                                                                    .into_any()
                                                            }
                                                            None => {
                                                                "; its access token is refused from now on"
                                                                    .into_any()
                                                            }
                                                        }}
                                                    </span>
                                                }
                                                    .into_any()
                                            }
                                            None => {
                                                view! {
                                                    <ActionForm action=kill attr:class="inline">
                                                        <input type="hidden" name="id" value=device.id />
                                                        <button
                                                            type="submit"
                                                            class="button secondary small"
                                                            data-testid="kill-device"
                                                        >
                                                            {if is_current { "Sign out" } else { "Sign out device" }}
                                                        </button>
                                                    </ActionForm>
                                                }
                                                    .into_any()
                                            }
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// "Remember me: off · ends after 12 hours unused, ": what its timeouts are, before the
/// moment of its absolute end.
fn lifetime_words(remembered: bool, lifetime: Lifetime) -> String {
    format!(
        "Remember me: {} · ends after {} unused, ",
        if remembered { "on" } else { "off" },
        describe_seconds(lifetime.idle)
    )
}

/// Why a JWT device was revoked, in words.
fn reason_words(reason: RevocationReason) -> &'static str {
    match reason {
        RevocationReason::SignedOut => "signed out",
        RevocationReason::Killed => "signed out from another device",
        RevocationReason::Reused => "refresh token reused",
        RevocationReason::KillDrill => "kill drill",
        RevocationReason::PasswordChanged => "signed out by a password change",
        RevocationReason::DevicePolicy => "ended by the device limit: another device signed in",
        RevocationReason::Admin => "signed out by an administrator",
    }
}
