//! The cluster page's server side: which instance answered, through which door, and what the
//! load balancer does with each instance; an administrator takes one out and puts it back.

use crate::{
    auth::{Auth, CurrentUser},
    core::{
        balancer::{BalancerError, HaproxyApi},
        config::Config,
        text::excerpt,
    },
    error::AppError,
    model::{Balancer, ClusterView},
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
