//! The cluster page's server side: which instance answered, through which door, and what the
//! load balancer does with each instance; an administrator takes one out and puts it back; the
//! kill-reach drill's device, probes and kill.

use crate::{
    auth::{Auth, CurrentUser},
    core::{
        balancer::{BalancerError, HaproxyApi},
        client::ClientInfo,
        config::Config,
        text::excerpt,
    },
    error::AppError,
    model::{Balancer, ClusterView, KillReachToken, ProbeAnswer},
};

/// The page as `current` (if signed in) sees it, for a request that came through `door` (as a
/// trusted proxy names it: anyone else can send the header too).
pub async fn view(
    config: &Config,
    auth: &Auth,
    current: Option<&CurrentUser>,
    door: Option<String>,
) -> Result<ClusterView, AppError> {
    let balancer = match (&config.haproxy_socket, current) {
        (None, _) => Balancer::NotConfigured,
        (Some(_), None) => Balancer::SignInToSee,
        (Some(socket), Some(_)) => match HaproxyApi::new(socket).servers().await {
            Ok(servers) => Balancer::Servers(servers),
            Err(error) => {
                tracing::warn!(%error, "the load balancer's runtime API did not answer");
                Balancer::Unreachable
            }
        },
    };
    let can_operate = match current {
        Some(current) if matches!(balancer, Balancer::Servers(_)) => auth.is_admin(current).await?,
        _ => false,
    };
    Ok(ClusterView {
        instance: config.instance_name.clone(),
        door,
        session_store: auth.session_settings().store,
        revocation: auth.revocation(),
        balancer,
        can_operate,
    })
}

/// Takes `instance` out of both doors of the load balancer, or puts it back: administrators
/// only (404 for anyone else, as every administrator's page answers). A HAProxy that does not
/// answer is a 503 (try again); one that refuses is a 500, since trying again cannot help
/// (its socket lacks `level admin`, say). Either way no door is left changed.
pub async fn set_taken_out(
    config: &Config,
    auth: &Auth,
    current: &CurrentUser,
    instance: &str,
    taken_out: bool,
) -> Result<(), AppError> {
    if !auth.is_admin(current).await? {
        return Err(AppError::NotFound);
    }
    let Some(socket) = &config.haproxy_socket else {
        return Err(AppError::invalid(
            "instance",
            "This server knows no load balancer (HAPROXY_SOCKET is not set).",
        ));
    };
    let named = excerpt(instance, 64);
    match HaproxyApi::new(socket)
        .set_taken_out(instance, taken_out)
        .await
    {
        Ok(true) => {
            tracing::info!(
                user_id = current.user_id,
                instance = %named,
                taken_out,
                "an administrator changed the load balancer"
            );
            Ok(())
        }
        Ok(false) => Err(AppError::invalid(
            "instance",
            "The load balancer has no instance of that name.",
        )),
        Err(BalancerError::Unreachable(error)) => {
            tracing::warn!(%error, instance = %named, "the load balancer did not answer");
            Err(AppError::BalancerUnavailable)
        }
        Err(refused @ BalancerError::Refused(_)) => {
            Err(AppError::internal("load balancer", &refused))
        }
    }
}

/// What the kill-reach drill's device is called on the devices page, while it lives.
pub const KILL_REACH_DEVICE: &str = "Kill-reach drill (cluster page)";

/// Signs `current` in once more by JWT, as the kill-reach drill's throwaway device.
pub async fn kill_reach_device(
    auth: &Auth,
    current: &CurrentUser,
    client: &ClientInfo,
) -> Result<KillReachToken, AppError> {
    let user = auth.user(current).await?;
    let client = ClientInfo {
        device: KILL_REACH_DEVICE.to_owned(),
        ..client.clone()
    };
    let pair = auth.start_jwt(&user, &client).await?;
    Ok(KillReachToken {
        access_token: pair.access_token,
    })
}

/// Whether this instance (`instance`) lets `access_token` in now, under its revocation setting:
/// exactly what it would answer a request presenting it.
pub async fn kill_reach_probe(
    auth: &Auth,
    instance: &str,
    client: &ClientInfo,
    access_token: String,
) -> Result<ProbeAnswer, AppError> {
    let presented = auth.presenting_access_token(access_token);
    let started = std::time::Instant::now();
    let recognised = auth
        .recognise(&presented, client)
        .await?
        .recognition
        .user
        .is_some();
    Ok(ProbeAnswer {
        instance: instance.to_owned(),
        recognised,
        micros: started.elapsed().as_secs_f64() * 1e6,
    })
}

/// Ends the device of `access_token` as signing it out would (its family revoked; under
/// `denylist` its access token denied on every instance through Redis): whoever holds the token
/// may end its device, as `/api/logout` allows. A token this server did not sign is refused.
pub async fn kill_reach_kill(
    auth: &Auth,
    client: &ClientInfo,
    access_token: String,
) -> Result<(), AppError> {
    // The cookies it would forget are the drill's, which the browser never held.
    let _drills_cookies = auth
        .sign_out_token_holder(&auth.presenting_access_token(access_token), client)
        .await?;
    Ok(())
}
