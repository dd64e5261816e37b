//! The signing keys of access tokens: a key ring of secrets, each named by a `kid`.
//!
//! Under `JWT_ALGORITHM=HS256` a secret signs and verifies (HMAC-SHA-256). Under `EdDSA` each
//! secret is the seed an Ed25519 key pair is derived from: the private key signs, the public key
//! verifies and is published at `/.well-known/jwks.json`, so another service verifies tokens
//! without the power to mint them. Its `kid` is derived from the public key, so every server
//! holding the same secrets publishes the same set.
//!
//! One key signs (the current one); every key of the ring verifies, so a token signed just before
//! a rotation stays valid until it expires. Keys come from the environment (`JWT_SECRET`, and
//! `JWT_PREVIOUS_SECRETS` for the ones being retired) or, by default, from `jwt-keys.json` in the
//! data folder: 256 random bits generated at first start, written with mode 0600, so that a
//! restart keeps every user signed in. `ticketbooth rotate-jwt-key` adds a new current key to that
//! file and gives the old ones a retirement date.

use std::{
    fmt,
    io::Write as _,
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::{
    config::{Config, MIN_SECRET_BYTES, Secret, SigningAlgorithm},
    ids::{fingerprint, random_bytes, sha256},
};

pub const KEY_FILE: &str = "jwt-keys.json";

/// One signing key.
pub struct SigningKey {
    pub kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The Ed25519 public key (EdDSA only): what the JWKS publishes.
    public: Option<[u8; 32]>,
    /// After this time (unix seconds) the key no longer verifies; `None` for keys in service.
    pub retires_at: Option<i64>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key `secret` makes under `algorithm`; `kid` names an HS256 key (an EdDSA key's is
    /// derived from its public key).
    fn new(
        algorithm: SigningAlgorithm,
        secret: &[u8],
        kid: String,
        retires_at: Option<i64>,
    ) -> Self {
        match algorithm {
            SigningAlgorithm::Hs256 => SigningKey {
                kid,
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                public: None,
                retires_at,
            },
            SigningAlgorithm::EdDsa => {
                let seed = ed25519_seed_of(secret);
                let public = ed25519_dalek::SigningKey::from_bytes(&seed)
                    .verifying_key()
                    .to_bytes();
                SigningKey {
                    kid: fingerprint(&public, 6),
                    encoding: EncodingKey::from_ed_der(&pkcs8_of(&seed)),
                    decoding: DecodingKey::from_ed_der(&public),
                    public: Some(public),
                    retires_at,
                }
            }
        }
    }
}

/// The Ed25519 seed of a secret: a hash of it under its own label, so that the bytes that
/// would be an HMAC key under HS256 are never the private key itself.
fn ed25519_seed_of(secret: &[u8]) -> [u8; 32] {
    let mut labelled = b"ticketbooth ed25519 seed v1\0".to_vec();
    labelled.extend_from_slice(secret);
    let mut seed = [0_u8; 32];
    seed.copy_from_slice(&sha256(&labelled));
    seed
}

/// An Ed25519 private key as PKCS #8 (RFC 8410: the fixed prefix, then the 32-byte seed): what
/// `jsonwebtoken` signs with.
fn pkcs8_of(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// The current key first, then the keys that still verify; and the key that derives a refresh
/// token's successor from it.
pub struct KeyRing {
    algorithm: SigningAlgorithm,
    keys: Vec<SigningKey>,
    successor_key: Vec<u8>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// The successor key of a current secret: a hash of it under its own label, so that it never
/// equals the signing key and servers sharing the secret share it too.
fn successor_key_of(secret: &[u8]) -> Vec<u8> {
    let mut labelled = b"ticketbooth refresh successor v1\0".to_vec();
    labelled.extend_from_slice(secret);
    sha256(&labelled)
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a key file ({detail})")]
    Format { path: PathBuf, detail: String },
    #[error(
        "the signing keys come from JWT_SECRET: rotate by moving it to JWT_PREVIOUS_SECRETS and setting a new one"
    )]
    FromEnvironment,
    #[error("the signing keys in the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "signing key {kid} in the database does not open with JWT_KEY_ENCRYPTION_KEY: a different key sealed it, or the row was altered"
    )]
    Sealed { kid: String },
    #[error("the signing keys in the database: none is in service")]
    NoCurrentKey,
}

/// The key file: the current key first.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    /// URL-safe base64 of the secret.
    secret: String,
    created_at: i64,
    retires_at: Option<i64>,
}

/// A key's name: derived from the secret, so servers sharing a secret agree on it without being
/// told. 48 bits of a hash reveal nothing usable about a 256-bit secret.
pub(super) fn kid_of(secret: &[u8]) -> String {
    fingerprint(secret, 6)
}

pub(super) fn new_secret() -> Vec<u8> {
    random_bytes(32)
}

/// One key of a ring as read from wherever the ring is kept.
pub(super) struct KeyEntry {
    pub secret: Vec<u8>,
    pub kid: String,
    pub retires_at: Option<i64>,
}

impl KeyRing {
    /// A ring of `entries`, the one that signs first; `None` if there are none.
    pub(super) fn from_entries(algorithm: SigningAlgorithm, entries: &[KeyEntry]) -> Option<Self> {
        let current = entries.first()?;
        Some(KeyRing {
            algorithm,
            keys: entries
                .iter()
                .map(|entry| {
                    SigningKey::new(
                        algorithm,
                        &entry.secret,
                        entry.kid.clone(),
                        entry.retires_at,
                    )
                })
                .collect(),
            successor_key: successor_key_of(&current.secret),
        })
    }

    /// The `kid` tokens signed with `secret` carry under `algorithm` (EdDSA: the public key's).
    pub(super) fn kid_under(algorithm: SigningAlgorithm, secret: &[u8]) -> String {
        SigningKey::new(algorithm, secret, kid_of(secret), None).kid
    }

    /// The ring the server signs and verifies with, as configured.
    pub fn load(config: &Config, now: i64) -> Result<Self, KeyError> {
        let algorithm = config.jwt_algorithm;
        match &config.jwt_secret {
            Some(current) => Ok(Self::from_secrets(
                algorithm,
                current,
                &config.jwt_previous_secrets,
            )),
            None => Self::from_file(algorithm, &config.data_dir.join(KEY_FILE), now),
        }
    }

    /// A ring of `current`, which signs, and `previous`, which still verify.
    pub fn from_secrets(
        algorithm: SigningAlgorithm,
        current: &Secret,
        previous: &[Secret],
    ) -> Self {
        let keys = std::iter::once(current)
            .chain(previous)
            .map(|secret| {
                SigningKey::new(algorithm, secret.expose(), kid_of(secret.expose()), None)
            })
            .collect();
        KeyRing {
            algorithm,
            keys,
            successor_key: successor_key_of(current.expose()),
        }
    }

    /// Reads the key file, creating it with a fresh key if there is none. Retired keys are left
    /// out.
    fn from_file(algorithm: SigningAlgorithm, path: &Path, now: i64) -> Result<Self, KeyError> {
        let file = match read_key_file(path)? {
            Some(file) => file,
            None => {
                let file = KeyFile {
                    keys: vec![stored(new_secret(), now)],
                };
                write_key_file(path, &file, true)?;
                file
            }
        };
        let mut keys = Vec::new();
        let mut successor_key = None;
        for stored in &file.keys {
            if stored.retires_at.is_some_and(|at| at <= now) {
                continue;
            }
            let secret = URL_SAFE_NO_PAD
                .decode(&stored.secret)
                .ok()
                .filter(|secret| secret.len() >= MIN_SECRET_BYTES)
                .ok_or_else(|| KeyError::Format {
                    path: path.to_owned(),
                    detail: format!(
                        "key {} is not a base64 secret of 32 bytes or more",
                        stored.kid
                    ),
                })?;
            successor_key.get_or_insert_with(|| successor_key_of(&secret));
            keys.push(SigningKey::new(
                algorithm,
                &secret,
                stored.kid.clone(),
                stored.retires_at,
            ));
        }
        let current_in_service = file
            .keys
            .first()
            .is_some_and(|key| key.retires_at.is_none());
        let (true, Some(successor_key)) = (current_in_service, successor_key) else {
            return Err(KeyError::Format {
                path: path.to_owned(),
                detail: "no current key".into(),
            });
        };
        Ok(KeyRing {
            algorithm,
            keys,
            successor_key,
        })
    }

    /// The algorithm every key of the ring signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The public keys that verify at `now`, as a JSON Web Key Set (RFC 7517; Ed25519 keys are
    /// RFC 8037's `OKP`): empty under HS256, whose secrets are never published. A retiring key
    /// stays listed until it retires, as long as the tokens it signed live.
    pub fn jwks(&self, now: i64) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter(|key| key.retires_at.is_none_or(|at| at > now))
            .filter_map(|key| {
                let public = key.public?;
                Some(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public),
                    "kid": key.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Adds a new current key to the key file in `data_dir`; the previous keys keep verifying
    /// for `keep_old_for` seconds (at least the access-token lifetime). Returns the new `kid`.
    /// A running server picks the new key up when it restarts.
    pub fn rotate_file(config: &Config, now: i64, keep_old_for: i64) -> Result<String, KeyError> {
        if config.jwt_secret.is_some() {
            return Err(KeyError::FromEnvironment);
        }
        let path = config.data_dir.join(KEY_FILE);
        let mut file = read_key_file(&path)?.unwrap_or(KeyFile { keys: Vec::new() });
        for key in &mut file.keys {
            key.retires_at.get_or_insert(now + keep_old_for);
        }
        file.keys
            .retain(|key| key.retires_at.is_none_or(|at| at > now));
        let secret = new_secret();
        let fresh = stored(secret.clone(), now);
        // The kid tokens will carry: under EdDSA, the public key's.
        let kid = SigningKey::new(config.jwt_algorithm, &secret, fresh.kid.clone(), None).kid;
        file.keys.insert(0, fresh);
        write_key_file(&path, &file, false)?;
        Ok(kid)
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> (&str, &EncodingKey) {
        let key = &self.keys[0];
        (&key.kid, &key.encoding)
    }

    /// The key named `kid`, if it is in the ring and not retired at `now`.
    pub fn verifying(&self, kid: &str, now: i64) -> Option<&DecodingKey> {
        self.keys
            .iter()
            .find(|key| key.kid == kid && key.retires_at.is_none_or(|at| at > now))
            .map(|key| &key.decoding)
    }

    /// The successor of a refresh token: HMAC-SHA-256 of it under the successor key. The same
    /// parent always has the same successor, so a parent exchanged twice within the grace window
    /// yields one successor, not two, and the database still holds only hashes.
    pub fn successor_of(&self, parent: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.successor_key)
            .expect("HMAC takes a key of any length");
        mac.update(parent.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|key| key.kid.as_str()).collect()
    }
}

fn stored(secret: Vec<u8>, now: i64) -> StoredKey {
    StoredKey {
        kid: kid_of(&secret),
        secret: URL_SAFE_NO_PAD.encode(&secret),
        created_at: now,
        retires_at: None,
    }
}

fn read_key_file(path: &Path) -> Result<Option<KeyFile>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| KeyError::Format {
                path: path.to_owned(),
                detail: error.to_string(),
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes the key file readable by its owner only. The new content goes to a temporary file
/// that replaces the old one, so a crash never leaves half a key file. `first` refuses to
/// overwrite an existing file: two servers starting at once on one data folder agree on one key.
fn write_key_file(path: &Path, file: &KeyFile, first: bool) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let json = serde_json::to_vec_pretty(file).expect("a key file serialises");
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&temporary).map_err(io)?;
    out.write_all(&json)
        .and_then(|()| out.sync_all())
        .map_err(io)?;
    drop(out);
    if first {
        // hard_link fails if the key file appeared meanwhile; the other server's key wins.
        let linked = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
        return match linked {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(io(error)),
        };
    }
    std::fs::rename(&temporary, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::config::LeptosOptions;

    fn config_in(dir: &Path) -> Config {
        let options = LeptosOptions::builder().output_name("t").build();
        let data = dir.display().to_string();
        Config::from_lookup(options, |name| (name == "DATA_DIR").then(|| data.clone())).unwrap()
    }

    #[test]
    fn the_first_start_writes_a_private_key_that_the_next_start_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let first = KeyRing::load(&config, 1_000).unwrap();
        let second = KeyRing::load(&config, 2_000).unwrap();
        assert_eq!(first.kids(), second.kids());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_rotation_keeps_the_old_key_verifying_until_it_retires() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let before = KeyRing::load(&config, 1_000).unwrap();
        let old_kid = before.current().0.to_string();

        let new_kid = KeyRing::rotate_file(&config, 1_000, 300).unwrap();

        let after = KeyRing::load(&config, 1_000).unwrap();
        assert_eq!(after.current().0, new_kid);
        assert!(after.verifying(&old_kid, 1_299).is_some());
        assert!(after.verifying(&old_kid, 1_300).is_none());
        assert_eq!(
            KeyRing::load(&config, 1_300).unwrap().kids(),
            vec![new_kid.as_str()]
        );
    }

    #[test]
    fn a_successor_is_the_same_for_the_same_parent_and_secret_only() {
        let ring = |secret: u8| {
            KeyRing::from_secrets(SigningAlgorithm::Hs256, &Secret::new(vec![secret; 32]), &[])
        };
        assert_eq!(ring(1).successor_of("tbr_a"), ring(1).successor_of("tbr_a"));
        assert_ne!(ring(1).successor_of("tbr_a"), ring(1).successor_of("tbr_b"));
        assert_ne!(ring(1).successor_of("tbr_a"), ring(2).successor_of("tbr_a"));
        assert_eq!(
            ring(1).successor_of("tbr_a").len(),
            43,
            "256 bits, unpadded base64"
        );
    }

    #[test]
    fn keys_from_the_environment_are_not_rotated_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        config.jwt_secret = Some(Secret::new(vec![3; 32]));
        config.jwt_previous_secrets = vec![Secret::new(vec![4; 32])];
        let ring = KeyRing::load(&config, 0).unwrap();
        assert_eq!(ring.kids(), vec![kid_of(&[3; 32]), kid_of(&[4; 32])]);
        assert!(matches!(
            KeyRing::rotate_file(&config, 0, 60),
            Err(KeyError::FromEnvironment)
        ));
        assert!(!dir.path().join(KEY_FILE).exists());
    }
}
