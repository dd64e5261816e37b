//! Configuration, read once at start-up from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LEPTOS_SITE_ADDR` | `127.0.0.1:3000` | address to listen on |
//! | `PUBLIC_URL` | `http://<site addr>` | the origin browsers use; `https://` turns on `Secure` cookies |
//! | `INSTANCE_NAME` | the site address | this instance's name in every response's `X-Instance` header (several servers behind one balancer) |
//! | `DATA_DIR` | `data` | folder for the SQLite file (created if missing) |
//! | `DATABASE_URL` | `sqlite://<DATA_DIR>/ticketbooth.db` | the database: `sqlite:` (a file) or `postgres://` (a server several instances share) |
//! | `SESSION_POLICY` | `standard` | `strict` follows OWASP ASVS level 2: every device ends after 15 minutes unused and 12 hours after sign-in (the defaults below become `15m` and `12h`, and a longer value stops the server) |
//! | `SESSION_IDLE_TIMEOUT` | `14d` | a session signed in with "Remember me" ends after this long unused |
//! | `SESSION_ABSOLUTE_TIMEOUT` | `30d` | a device signed in with "Remember me" ends this long after sign-in, used or not (both modes) |
//! | `UNREMEMBERED_IDLE_TIMEOUT` | `12h` | a device signed in without "Remember me" ends after this long unused (both modes) |
//! | `UNREMEMBERED_ABSOLUTE_TIMEOUT` | `1d` | a device signed in without "Remember me" ends this long after sign-in (both modes) |
//! | `SESSION_STORE` | the database's | where cookie sessions live: the database (`sqlite` or `postgres`, whichever `DATABASE_URL` names), `memory` or `redis` |
//! | `REDIS_URL` | none | a Redis the servers share (`redis://host:6379/0`, `redis+unix:///path`): the denylist's broadcast, the sign-in counts, sessions with `SESSION_STORE=redis` |
//! | `HASH_CONCURRENCY` | half the CPUs, at least 1 | password hashes running at once |
//! | `HASH_QUEUE` | `64` | sign-ins allowed to wait for a hasher before the server answers 503 |
//! | `ACCESS_TOKEN_TTL` | `5m` | lifetime of a JWT access token |
//! | `REFRESH_TOKEN_TTL` | `14d` | lifetime of a refresh token signed in with "Remember me": a JWT device unused this long ends (each refresh issues a new one) |
//! | `REFRESH_REUSE_GRACE` | `10s` | how long a used refresh token may be used again (two tabs at once) |
//! | `JWT_REVOCATION` | `pure` | `pure`, `session-check` or `denylist`: what a kill does to access tokens |
//! | `JWT_ALGORITHM` | `HS256` | `HS256` (a shared secret signs and verifies) or `EdDSA` (Ed25519: a private key signs, the public keys at `/.well-known/jwks.json` verify) |
//! | `JWT_SECRET` | generated, kept in `DATA_DIR` | signing secret, base64, at least 32 random bytes (under `EdDSA`, the seed its private key is derived from) |
//! | `JWT_KEY_ENCRYPTION_KEY` | none | keeps the key ring in the database, sealed with this key (base64, at least 32 random bytes): every server of one database signs with the same keys |
//! | `JWT_PREVIOUS_SECRETS` | none | comma-separated older secrets that still verify (key rotation) |
//! | `SIGN_IN_FAILURES_PER_ACCOUNT` | `5` | failed sign-ins per account from one network before it waits |
//! | `SIGN_IN_FAILURES_PER_NETWORK` | `100` | failed sign-ins from one network, any account, before it waits |
//! | `SIGN_IN_FAILURE_WINDOW` | `15m` | how long a failed sign-in counts |
//! | `REQUEST_HEADER_TIMEOUT` | `10s` | a connection must send its request headers within this |
//! | `REQUEST_BODY_TIMEOUT` | `10s` | a request must send its body within this, or gets 408 |
//! | `SHUTDOWN_DRAIN` | `0s` | on SIGTERM, how long `/readyz` answers 503 (`"draining": true`) while the server goes on serving, so that a load balancer stops sending it requests before it stops accepting them |
//! | `SHUTDOWN_GRACE` | `10s` | then, how long requests in flight may take to finish before their connections are closed |
//! | `SIGN_UPS_PER_NETWORK` | `10` | accounts one network may create within the window |
//! | `SIGN_UP_WINDOW` | `1h` | how long a sign-up counts |
//! | `ACTIVITY_KEEP_ENTRIES` | `1000` | activity-log entries kept per user, newest first |
//! | `ACTIVITY_KEEP` | `90d` | how long an activity-log entry is kept |
//! | `TRUSTED_PROXIES` | none | proxies (addresses, CIDR blocks) whose `X-Forwarded-For` is believed |
//! | `HAPROXY_SOCKET` | none | the admin socket of the HAProxy in front of the instances: `/cluster` shows which instances each door sends requests to, and lets an administrator take one out and put it back |
//!
//! Durations are numbers with units: `30s`, `15m`, `12h`, `14d`, `1h30m`. A value that cannot be read stops
//! the server with a message naming the variable.

use std::{fmt, net::SocketAddr, path::PathBuf};

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
};
use leptos::config::LeptosOptions;

use super::client::TrustedProxies;
use crate::model::{DatabaseKind, Lifetime, Lifetimes, Revocation, SessionStoreKind};

#[derive(Clone, Debug)]
pub struct Config {
    pub leptos_options: LeptosOptions,
    /// `scheme://host[:port]` with no trailing slash, compared with `Origin` headers.
    pub public_origin: String,
    /// Which instance answered: every response says so (`X-Instance`).
    pub instance_name: String,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub session_policy: SessionPolicy,
    pub session_idle_timeout: i64,
    pub session_absolute_timeout: i64,
    /// Lifetimes of a sign-in without "Remember me", in both modes.
    pub unremembered_idle_timeout: i64,
    pub unremembered_absolute_timeout: i64,
    pub session_store: SessionStoreKind,
    /// A Redis the servers share: the denylist's broadcast, and sessions when kept there.
    pub redis_url: Option<String>,
    pub hash_concurrency: usize,
    pub hash_queue: usize,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    pub refresh_reuse_grace: i64,
    pub jwt_revocation: Revocation,
    pub jwt_algorithm: SigningAlgorithm,
    /// The current signing secret, when given in the environment.
    pub jwt_secret: Option<Secret>,
    /// Older secrets that still verify tokens.
    pub jwt_previous_secrets: Vec<Secret>,
    /// Seals the key ring kept in the database; `None` keeps it in the data folder's file.
    pub jwt_key_encryption_key: Option<Secret>,
    /// The database `database_url` names.
    pub database: DatabaseKind,
    /// How many failed sign-ins are allowed before more must wait.
    pub sign_in_limits: ThrottleLimits,
    /// Seconds a connection has to send its request headers, and a request its body.
    pub request_header_timeout: i64,
    pub request_body_timeout: i64,
    /// Seconds a stopping server keeps serving while its `/readyz` says it is draining (0: none).
    pub shutdown_drain: i64,
    /// Seconds requests in flight at a stop may take to finish.
    pub shutdown_grace: i64,
    /// How many accounts one network may create, and within how long.
    pub sign_up_limits: SignUpLimits,
    /// Whose word to take on the client's address.
    pub trusted_proxies: TrustedProxies,
    /// The runtime API of the HAProxy in front of the instances, if there is one.
    pub haproxy_socket: Option<PathBuf>,
    /// Activity-log entries kept per user, and for how many seconds.
    pub activity_keep_entries: usize,
    pub activity_keep: i64,
}

/// Bytes that must never be printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// How many sign-in attempts may fail within a window before more are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Per account, from one network.
    pub per_account: usize,
    /// Per network, whatever the account.
    pub per_network: usize,
    /// Seconds an attempt is remembered.
    pub window: i64,
}

/// Sign-ups allowed per network within a window: each costs a password hash, so unbounded
/// sign-ups would fill the hasher's queue and turn every sign-in into a 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignUpLimits {
    pub per_network: usize,
    /// Seconds a sign-up is remembered.
    pub window: i64,
}

/// What signs access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// HMAC-SHA-256: the secret that signs also verifies, so only this server verifies.
    Hs256,
    /// Ed25519: a private key signs; anyone holding the published public key verifies, and
    /// cannot sign.
    EdDsa,
}

impl SigningAlgorithm {
    /// Its name in a JWT header (`alg`).
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::Hs256 => "HS256",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }
}

/// How long devices may stay signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionPolicy {
    /// Long lifetimes with "Remember me", short ones without.
    Standard,
    /// OWASP ASVS 4.0 level 2 (3.3.2): re-authentication after 30 minutes idle at most (15 here
    /// by default) and 12 hours whatever happens, "Remember me" or not.
    Strict,
}

/// The longest idle and absolute lifetimes the strict policy allows.
pub const STRICT_MAX_IDLE: i64 = 30 * 60;
pub const STRICT_MAX_ABSOLUTE: i64 = 12 * 3_600;

/// An HS256 secret shorter than this is refused: the key would be weaker than the hash.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    variable: &'static str,
    problem: String,
}

/// The longest `last_seen_at` may lag behind: a session's row is written at most this often.
pub const LAST_SEEN_GRANULARITY: i64 = 60;

/// Where the JWT signing keys come from ([`Config::key_source`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `JWT_SECRET` and `JWT_PREVIOUS_SECRETS`: rotated by changing the settings.
    Environment,
    /// `jwt-keys.json` in the data folder: one server's, or those sharing the folder.
    File,
    /// The `signing_keys` table, sealed with `JWT_KEY_ENCRYPTION_KEY`: every server of the
    /// database signs with the same ring, and picks up a rotation without a restart.
    Database,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env(leptos_options: LeptosOptions) -> Result<Self, ConfigError> {
        Self::from_lookup(leptos_options, |name| std::env::var(name).ok())
    }

    /// Reads the configuration from `lookup` (the environment, or a test's table).
    pub fn from_lookup(
        mut leptos_options: LeptosOptions,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if let Some(addr) = lookup("LEPTOS_SITE_ADDR") {
            leptos_options.site_addr = addr.parse::<SocketAddr>().map_err(|e| ConfigError {
                variable: "LEPTOS_SITE_ADDR",
                problem: format!("{addr:?} is not an address like 127.0.0.1:3000 ({e})"),
            })?;
        }
        let public_origin = match lookup("PUBLIC_URL") {
            Some(url) => parse_origin(&url).ok_or_else(|| ConfigError {
                variable: "PUBLIC_URL",
                problem: format!("{url:?} is not an http:// or https:// URL"),
            })?,
            None => format!("http://{}", leptos_options.site_addr),
        };
        let instance_name =
            lookup("INSTANCE_NAME").unwrap_or_else(|| leptos_options.site_addr.to_string());
        let name_is_plain = |name: &str| {
            (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        };
        if !name_is_plain(&instance_name) {
            return Err(ConfigError {
                variable: "INSTANCE_NAME",
                problem: format!(
                    "{instance_name:?}: use 1 to 64 of a-z, A-Z, 0-9, '-', '_', '.', ':'"
                ),
            });
        }
        let data_dir = PathBuf::from(lookup("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = lookup("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("ticketbooth.db").display()));
        let session_policy = match lookup("SESSION_POLICY").as_deref().map(str::trim) {
            None | Some("standard") => SessionPolicy::Standard,
            Some("strict") => SessionPolicy::Strict,
            Some(other) => {
                return Err(ConfigError {
                    variable: "SESSION_POLICY",
                    problem: format!("{other:?} is neither standard nor strict"),
                });
            }
        };
        // A lifetime: its default under the policy, and under `strict` no longer than allowed.
        let lifetime = |variable: &'static str, standard: &str, is_idle: bool| {
            let strict = session_policy == SessionPolicy::Strict;
            let (strict_default, most) = if is_idle {
                ("15m", STRICT_MAX_IDLE)
            } else {
                ("12h", STRICT_MAX_ABSOLUTE)
            };
            let seconds = duration_var(
                &lookup,
                variable,
                if strict { strict_default } else { standard },
            )?;
            if strict && seconds > most {
                return Err(ConfigError {
                    variable,
                    problem: format!(
                        "SESSION_POLICY=strict allows at most {} here (OWASP ASVS 3.3.2)",
                        crate::model::describe_seconds(most)
                    ),
                });
            }
            Ok(seconds)
        };
        let session_idle_timeout = lifetime("SESSION_IDLE_TIMEOUT", "14d", true)?;
        let session_absolute_timeout = lifetime("SESSION_ABSOLUTE_TIMEOUT", "30d", false)?;
        let unremembered_idle_timeout = lifetime("UNREMEMBERED_IDLE_TIMEOUT", "12h", true)?;
        let unremembered_absolute_timeout = lifetime("UNREMEMBERED_ABSOLUTE_TIMEOUT", "1d", false)?;
        let refresh_token_ttl = lifetime("REFRESH_TOKEN_TTL", "14d", true)?;
        let database = DatabaseKind::of_url(&database_url).ok_or_else(|| ConfigError {
            variable: "DATABASE_URL",
            problem: "start it with sqlite: (a file) or postgres:// (a server)".into(),
        })?;
        // The SQL stores keep sessions in the database's own table: no other.
        let session_store = match lookup("SESSION_STORE").as_deref() {
            None => database.session_store(),
            Some("memory") => SessionStoreKind::Memory,
            Some("redis") => SessionStoreKind::Redis,
            Some(sql @ ("sqlite" | "postgres")) if sql == database.key() => {
                database.session_store()
            }
            Some(sql @ ("sqlite" | "postgres")) => {
                return Err(ConfigError {
                    variable: "SESSION_STORE",
                    problem: format!(
                        "{sql} keeps sessions in the database, and DATABASE_URL names a {} one",
                        database.key()
                    ),
                });
            }
            Some(other) => {
                return Err(ConfigError {
                    variable: "SESSION_STORE",
                    problem: format!("{other:?} is none of sqlite, postgres, memory, redis"),
                });
            }
        };
        let redis_url = lookup("REDIS_URL").filter(|url| !url.trim().is_empty());
        if session_store == SessionStoreKind::Redis && redis_url.is_none() {
            return Err(ConfigError {
                variable: "REDIS_URL",
                problem: "SESSION_STORE=redis needs it: redis://host:6379/0, or \
                          redis+unix:///path/to/socket"
                    .into(),
            });
        }
        let default_hashers = std::thread::available_parallelism()
            .map(|n| (n.get() / 2).max(1))
            .unwrap_or(1);
        let hash_concurrency = count_var(&lookup, "HASH_CONCURRENCY", default_hashers)?;
        let hash_queue = count_var(&lookup, "HASH_QUEUE", 64)?;
        let access_token_ttl = duration_var(&lookup, "ACCESS_TOKEN_TTL", "5m")?;
        let refresh_reuse_grace = duration_var(&lookup, "REFRESH_REUSE_GRACE", "10s")?;
        let jwt_revocation = match lookup("JWT_REVOCATION") {
            None => Revocation::Pure,
            Some(text) => Revocation::from_key(&text).ok_or_else(|| ConfigError {
                variable: "JWT_REVOCATION",
                problem: format!("{text:?} is none of pure, session-check, denylist"),
            })?,
        };
        let jwt_algorithm = match lookup("JWT_ALGORITHM").as_deref().map(str::trim) {
            None | Some("HS256") => SigningAlgorithm::Hs256,
            Some("EdDSA") => SigningAlgorithm::EdDsa,
            Some(other) => {
                return Err(ConfigError {
                    variable: "JWT_ALGORITHM",
                    problem: format!("{other:?} is neither HS256 nor EdDSA"),
                });
            }
        };
        let jwt_secret = lookup("JWT_SECRET")
            .map(|text| parse_secret("JWT_SECRET", &text))
            .transpose()?;
        let jwt_previous_secrets = lookup("JWT_PREVIOUS_SECRETS")
            .map(|text| {
                text.split(',')
                    .filter(|part| !part.trim().is_empty())
                    .map(|part| parse_secret("JWT_PREVIOUS_SECRETS", part))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let jwt_key_encryption_key = lookup("JWT_KEY_ENCRYPTION_KEY")
            .map(|text| parse_secret("JWT_KEY_ENCRYPTION_KEY", &text))
            .transpose()?;
        let sign_in_limits = ThrottleLimits {
            per_account: count_var(&lookup, "SIGN_IN_FAILURES_PER_ACCOUNT", 5)?,
            per_network: count_var(&lookup, "SIGN_IN_FAILURES_PER_NETWORK", 100)?,
            window: duration_var(&lookup, "SIGN_IN_FAILURE_WINDOW", "15m")?,
        };
        let request_header_timeout = duration_var(&lookup, "REQUEST_HEADER_TIMEOUT", "10s")?;
        let request_body_timeout = duration_var(&lookup, "REQUEST_BODY_TIMEOUT", "10s")?;
        // Zero (no draining) is the default: a lone server has no balancer to wait for.
        let shutdown_drain = match lookup("SHUTDOWN_DRAIN").as_deref().map(str::trim) {
            None | Some("0" | "0s" | "") => 0,
            Some(_) => duration_var(&lookup, "SHUTDOWN_DRAIN", "0s")?,
        };
        let shutdown_grace = duration_var(&lookup, "SHUTDOWN_GRACE", "10s")?;
        for (variable, seconds) in [
            ("SHUTDOWN_DRAIN", shutdown_drain),
            ("SHUTDOWN_GRACE", shutdown_grace),
        ] {
            if seconds > MAX_SHUTDOWN_WAIT {
                return Err(ConfigError {
                    variable,
                    problem: format!("at most {MAX_SHUTDOWN_WAIT}s: a stop must end"),
                });
            }
        }
        let sign_up_limits = SignUpLimits {
            per_network: count_var(&lookup, "SIGN_UPS_PER_NETWORK", 10)?,
            window: duration_var(&lookup, "SIGN_UP_WINDOW", "1h")?,
        };
        let trusted_proxies = lookup("TRUSTED_PROXIES")
            .map(|text| TrustedProxies::parse(&text))
            .transpose()
            .map_err(|problem| ConfigError {
                variable: "TRUSTED_PROXIES",
                problem,
            })?
            .unwrap_or_default();
        Ok(Config {
            leptos_options,
            public_origin,
            instance_name,
            database_url,
            data_dir,
            session_policy,
            session_idle_timeout,
            session_absolute_timeout,
            unremembered_idle_timeout,
            unremembered_absolute_timeout,
            session_store,
            redis_url,
            hash_concurrency,
            hash_queue,
            access_token_ttl,
            refresh_token_ttl,
            refresh_reuse_grace,
            jwt_revocation,
            jwt_algorithm,
            jwt_secret,
            jwt_previous_secrets,
            jwt_key_encryption_key,
            database,
            sign_in_limits,
            request_header_timeout,
            request_body_timeout,
            shutdown_drain,
            shutdown_grace,
            sign_up_limits,
            activity_keep_entries: count_var(&lookup, "ACTIVITY_KEEP_ENTRIES", 1000)?,
            activity_keep: duration_var(&lookup, "ACTIVITY_KEEP", "90d")?,
            trusted_proxies,
            haproxy_socket: lookup("HAPROXY_SOCKET")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from),
        })
    }

    /// How long a cookie session lasts, with "Remember me" and without.
    pub fn session_lifetimes(&self) -> Lifetimes {
        self.lifetimes(self.session_idle_timeout)
    }

    /// How long a JWT device (its refresh family) lasts, with "Remember me" and without: a
    /// refresh token unused for its lifetime ends the device.
    pub fn refresh_lifetimes(&self) -> Lifetimes {
        self.lifetimes(self.refresh_token_ttl)
    }

    fn lifetimes(&self, remembered_idle: i64) -> Lifetimes {
        Lifetimes {
            remembered: Lifetime {
                idle: remembered_idle,
                absolute: self.session_absolute_timeout,
            },
            unremembered: Lifetime {
                idle: self.unremembered_idle_timeout,
                absolute: self.unremembered_absolute_timeout,
            },
            strict: self.session_policy == SessionPolicy::Strict,
        }
    }

    /// Where the JWT signing keys come from: the environment's secrets if given, else the
    /// database's sealed ring when there is a key to seal it with, else the data folder's file.
    pub fn key_source(&self) -> KeySource {
        match (&self.jwt_secret, &self.jwt_key_encryption_key) {
            (Some(_), _) => KeySource::Environment,
            (None, Some(_)) => KeySource::Database,
            (None, None) => KeySource::File,
        }
    }

    /// Cookies get `Secure` when browsers reach the app over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.starts_with("https://")
    }

    /// Over https the credential cookies carry the prefixes browsers enforce: `__Host-` (Secure,
    /// Path=/, no Domain: no subdomain can plant or shadow it) and, for the refresh cookie whose
    /// Path is narrow, `__Secure-`. Plain-http development cannot use prefixes.
    pub fn cookie_names(&self) -> CookieNames {
        if self.secure_cookies() {
            CookieNames {
                session: "__Host-tb_session",
                access: "__Host-tb_access",
                refresh: "__Secure-tb_refresh",
            }
        } else {
            CookieNames {
                session: "tb_session",
                access: "tb_access",
                refresh: "tb_refresh",
            }
        }
    }
}

/// The names of the credential cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieNames {
    pub session: &'static str,
    pub access: &'static str,
    pub refresh: &'static str,
}

/// `https://example.com:8443/some/path` → `https://example.com:8443`.
pub fn parse_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// A base64 secret (standard or URL-safe alphabet, padded or not) of at least 32 bytes.
fn parse_secret(variable: &'static str, text: &str) -> Result<Secret, ConfigError> {
    let text = text.trim();
    let bytes = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| ConfigError {
            variable,
            problem: "not base64 (make one with `openssl rand -base64 32`)".into(),
        })?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(ConfigError {
            variable,
            problem: format!(
                "{} bytes is too short for HS256: use at least {MIN_SECRET_BYTES} random bytes \
                 (`openssl rand -base64 32`)",
                bytes.len()
            ),
        });
    }
    Ok(Secret(bytes))
}

/// `90s`, `15m`, `12h`, `14d`, `1h30m` → whole seconds, at least one. A bare number has no
/// unit and is refused: `14` could mean days as easily as seconds.
/// The longest a stop may drain, and then wait for requests in flight, in seconds.
const MAX_SHUTDOWN_WAIT: i64 = 300;

pub fn parse_duration(text: &str) -> Option<i64> {
    let duration = humantime::parse_duration(text.trim()).ok()?;
    i64::try_from(duration.as_secs())
        .ok()
        .filter(|seconds| *seconds > 0)
}

fn duration_var(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<i64, ConfigError> {
    let text = lookup(variable).unwrap_or_else(|| default.into());
    parse_duration(&text).ok_or_else(|| ConfigError {
        variable,
        problem: format!("{text:?} is not a positive duration like 30s, 15m, 12h, 14d or 1h30m"),
    })
}

fn count_var(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    match lookup(variable) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError {
                variable,
                problem: format!("{text:?} is not a positive whole number"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("15m"), Some(900));
        assert_eq!(parse_duration("14d"), Some(14 * 86_400));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("-5m"), None);
        assert_eq!(parse_duration("14"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(
            parse_duration("500ms"),
            None,
            "less than a second is no lifetime"
        );
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn origins_drop_path_and_refuse_other_schemes() {
        assert_eq!(
            parse_origin("https://Example.com:8443/app?x").as_deref(),
            Some("https://example.com:8443")
        );
        assert_eq!(parse_origin("ftp://example.com"), None);
        assert_eq!(parse_origin("https://user@example.com"), None);
        assert_eq!(parse_origin("example.com"), None);
    }

    #[test]
    fn a_short_or_garbled_jwt_secret_stops_the_server() {
        let options = LeptosOptions::builder().output_name("t").build();
        let with = |value: &str| {
            let value = value.to_string();
            Config::from_lookup(options.clone(), move |name| {
                (name == "JWT_SECRET").then(|| value.clone())
            })
        };
        let short = with(&STANDARD.encode([1u8; 31])).unwrap_err().to_string();
        assert!(short.contains("31 bytes is too short"), "{short}");
        assert!(with("not base64 at all!").is_err());
        let good = with(&STANDARD.encode([1u8; 32])).unwrap();
        assert_eq!(good.jwt_secret.unwrap().expose(), &[1u8; 32]);
        assert!(
            !format!("{:?}", with(&URL_SAFE_NO_PAD.encode([9u8; 40])).unwrap()).contains("9, 9")
        );
    }

    #[test]
    fn the_strict_policy_shortens_every_lifetime_and_refuses_longer_ones() {
        let config = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let options = LeptosOptions::builder().output_name("t").build();
            Config::from_lookup(options, move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let standard = config(&[]).unwrap();
        assert_eq!(
            standard.session_lifetimes().remembered,
            Lifetime {
                idle: 14 * 86_400,
                absolute: 30 * 86_400
            }
        );
        assert_eq!(
            standard.refresh_lifetimes().unremembered,
            Lifetime {
                idle: 12 * 3_600,
                absolute: 86_400
            }
        );
        let strict = config(&[("SESSION_POLICY", "strict")]).unwrap();
        for lifetimes in [strict.session_lifetimes(), strict.refresh_lifetimes()] {
            assert!(lifetimes.strict);
            for lifetime in [lifetimes.remembered, lifetimes.unremembered] {
                assert_eq!(
                    lifetime,
                    Lifetime {
                        idle: 15 * 60,
                        absolute: 12 * 3_600
                    }
                );
            }
        }
        let longer = config(&[("SESSION_POLICY", "strict"), ("REFRESH_TOKEN_TTL", "31m")])
            .unwrap_err()
            .to_string();
        assert!(longer.starts_with("REFRESH_TOKEN_TTL"), "{longer}");
        assert!(longer.contains("30 minutes"), "{longer}");
        assert!(
            config(&[
                ("SESSION_POLICY", "strict"),
                ("SESSION_IDLE_TIMEOUT", "30m")
            ])
            .is_ok(),
            "30 minutes idle is within level 2"
        );
        assert!(
            config(&[
                ("SESSION_POLICY", "strict"),
                ("UNREMEMBERED_ABSOLUTE_TIMEOUT", "13h")
            ])
            .is_err()
        );
        assert!(
            config(&[("SESSION_POLICY", "lenient")])
                .unwrap_err()
                .to_string()
                .starts_with("SESSION_POLICY")
        );
    }

    #[test]
    fn a_redis_store_needs_its_url() {
        let options = LeptosOptions::builder().output_name("t").build();
        let error = Config::from_lookup(options, |name| {
            (name == "SESSION_STORE").then(|| "redis".to_string())
        })
        .unwrap_err();
        assert!(error.to_string().starts_with("REDIS_URL"), "{error}");
    }

    #[test]
    fn sessions_kept_in_the_database_are_kept_in_the_database_named() {
        let config = |pairs: &[(&str, &str)]| {
            let options = LeptosOptions::builder().output_name("t").build();
            Config::from_lookup(options, |name| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            })
        };
        let postgres = "postgres://tb@db.internal/ticketbooth";
        let store = |pairs: &[(&str, &str)]| config(pairs).unwrap().session_store;
        assert_eq!(store(&[]), SessionStoreKind::Sqlite);
        assert_eq!(
            store(&[("DATABASE_URL", postgres)]),
            SessionStoreKind::Postgres
        );
        assert_eq!(
            store(&[("DATABASE_URL", postgres), ("SESSION_STORE", "postgres")]),
            SessionStoreKind::Postgres
        );
        assert_eq!(
            store(&[("DATABASE_URL", postgres), ("SESSION_STORE", "memory")]),
            SessionStoreKind::Memory
        );
        // No sessions in a database the server does not use.
        for (url, asked) in [(postgres, "sqlite"), ("sqlite://x.db", "postgres")] {
            let error = config(&[("DATABASE_URL", url), ("SESSION_STORE", asked)]).unwrap_err();
            assert!(error.to_string().starts_with("SESSION_STORE"), "{error}");
        }
        let error = config(&[("DATABASE_URL", "mysql://db/x")]).unwrap_err();
        assert!(error.to_string().starts_with("DATABASE_URL"), "{error}");
    }

    #[test]
    fn a_bad_variable_is_named_in_the_error() {
        let options = LeptosOptions::builder().output_name("t").build();
        let error = Config::from_lookup(options, |name| {
            (name == "SESSION_IDLE_TIMEOUT").then(|| "forever".to_string())
        })
        .unwrap_err();
        assert!(error.to_string().starts_with("SESSION_IDLE_TIMEOUT"));
        for (variable, value) in [
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("SIGN_IN_FAILURES_PER_ACCOUNT", "0"),
            ("SIGN_IN_FAILURE_WINDOW", "soon"),
            ("INSTANCE_NAME", "a name with spaces"),
            ("JWT_ALGORITHM", "RS256"),
            ("SESSION_STORE", "disk"),
        ] {
            let options = LeptosOptions::builder().output_name("t").build();
            let error = Config::from_lookup(options, |name| {
                (name == variable).then(|| value.to_string())
            })
            .unwrap_err();
            assert!(error.to_string().starts_with(variable), "{error}");
        }
    }
}
