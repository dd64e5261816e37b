//! The key ring kept in the database (`JWT_KEY_ENCRYPTION_KEY`): every server of one database
//! signs and verifies with the same keys, and a rotation made on one reaches all of them
//! without a restart.
//!
//! Each secret is sealed with XChaCha20-Poly1305 under a key derived from
//! `JWT_KEY_ENCRYPTION_KEY`, its `kid` authenticated with it: a copy of the table signs nothing,
//! and a row moved to another `kid` or altered does not open. Every server reads the ring again
//! every [`RELOAD_EVERY`]. A rotation adds a key that every server verifies at its next reading
//! but that none signs with until [`SIGNS_AFTER`] seconds later, three readings on: no server
//! ever meets a token signed by a key it has not read yet. The keys it replaces keep verifying
//! until the tokens they signed have expired.

use std::{
    sync::{Arc, RwLock, Weak},
    time::Duration,
};

use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};

use super::keys::{KeyEntry, KeyError, KeyRing, kid_of, new_secret};
use crate::{
    core::{
        clock::Clock,
        config::{Secret, SigningAlgorithm},
        ids::{random_bytes, sha256},
    },
    db::{Db, SigningKeyRow},
};

/// How often each server reads the ring again: a new key verifies everywhere within this.
pub const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// A rotated-in key signs this many seconds after it is stored: three readings later.
pub const SIGNS_AFTER: i64 = 30;

const NONCE_BYTES: usize = 24;

/// What holds a server's current ring: read by every request, replaced by each reading.
pub type RingCell = Arc<RwLock<Arc<KeyRing>>>;

/// Seals and opens secrets with the key from the environment.
struct Sealer(XChaCha20Poly1305);

impl Sealer {
    fn new(key: &Secret) -> Self {
        // A key of its own for this use, whatever else the configured one is used for.
        let mut labelled = b"ticketbooth signing-key seal v1\0".to_vec();
        labelled.extend_from_slice(key.expose());
        let derived: [u8; 32] = sha256(&labelled).try_into().expect("SHA-256 is 32 bytes");
        Sealer(XChaCha20Poly1305::new(&derived.into()))
    }

    fn seal(&self, kid: &str, secret: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = random_bytes(NONCE_BYTES)
            .try_into()
            .expect("24 random bytes");
        let sealed = self
            .0
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: kid.as_bytes(),
                },
            )
            .expect("sealing a 32-byte secret cannot fail");
        [&nonce[..], &sealed].concat()
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        self.0
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: kid.as_bytes(),
                },
            )
            .ok()
    }
}

/// The ring in the database, read and rotated with one encryption key.
pub struct DatabaseRing {
    db: Db,
    sealer: Sealer,
    algorithm: SigningAlgorithm,
}

impl DatabaseRing {
    pub fn new(db: Db, encryption_key: &Secret, algorithm: SigningAlgorithm) -> Self {
        DatabaseRing {
            db,
            sealer: Sealer::new(encryption_key),
            algorithm,
        }
    }

    /// The ring at `now`, its first key stored first if the database has none.
    pub async fn load(&self, now: i64) -> Result<KeyRing, KeyError> {
        let mut rows = self.db.signing_keys().await?;
        if rows.is_empty() {
            let (row, _) = self.new_key(now, now);
            // Another server starting at the same moment may win: its key is used.
            self.db.insert_first_signing_key(&row).await?;
            rows = self.db.signing_keys().await?;
        }
        self.ring_of(&rows, now)
    }

    /// The ring as stored, at `now`.
    pub async fn read(&self, now: i64) -> Result<KeyRing, KeyError> {
        self.ring_of(&self.db.signing_keys().await?, now)
    }

    /// Reads the ring as stored at `now` into `cell`, where the server signs and verifies.
    pub async fn read_into(&self, cell: &RwLock<Arc<KeyRing>>, now: i64) -> Result<(), KeyError> {
        let ring = self.read(now).await?;
        *cell
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ring);
        Ok(())
    }

    /// The ring `rows` make at `now`: the newest key that signs by then first, every key not
    /// yet retired after it.
    fn ring_of(&self, rows: &[SigningKeyRow], now: i64) -> Result<KeyRing, KeyError> {
        let mut live = Vec::new();
        for row in rows
            .iter()
            .filter(|row| row.retires_at.is_none_or(|at| at > now))
        {
            let secret =
                self.sealer
                    .open(&row.kid, &row.sealed)
                    .ok_or_else(|| KeyError::Sealed {
                        kid: row.kid.clone(),
                    })?;
            let entry = KeyEntry {
                secret,
                kid: row.kid.clone(),
                retires_at: row.retires_at,
            };
            live.push((row.signs_from, entry));
        }
        // Rows come by when they sign, the latest first.
        let current = live
            .iter()
            .position(|(signs_from, _)| *signs_from <= now)
            .ok_or(KeyError::NoCurrentKey)?;
        let (_, current) = live.remove(current);
        let entries: Vec<KeyEntry> = std::iter::once(current)
            .chain(live.into_iter().map(|(_, entry)| entry))
            .collect();
        KeyRing::from_entries(self.algorithm, &entries).ok_or(KeyError::NoCurrentKey)
    }

    /// Adds a key that signs from `now + SIGNS_AFTER`; the keys in service until then verify
    /// for `keep_old_for` seconds more. Refuses, changing nothing, when the stored keys do not
    /// open with this server's encryption key. Returns the new key's `kid`.
    pub async fn rotate(&self, now: i64, keep_old_for: i64) -> Result<String, KeyError> {
        self.read(now).await?;
        let signs_from = now + SIGNS_AFTER;
        let (row, secret) = self.new_key(now, signs_from);
        self.db
            .add_signing_key(&row, signs_from + keep_old_for, now)
            .await?;
        Ok(KeyRing::kid_under(self.algorithm, &secret))
    }

    /// A fresh key, sealed for storing, and its secret.
    fn new_key(&self, now: i64, signs_from: i64) -> (SigningKeyRow, Vec<u8>) {
        let secret = new_secret();
        let kid = kid_of(&secret);
        let row = SigningKeyRow {
            sealed: self.sealer.seal(&kid, &secret),
            kid,
            created_at: now,
            signs_from,
            retires_at: None,
        };
        (row, secret)
    }
}

/// Reads the ring into `cell` every [`RELOAD_EVERY`] until the server that owns `cell` is
/// gone or its database closed. A reading that fails keeps the ring the server has (logged).
pub fn keep_reading(ring: Arc<DatabaseRing>, cell: Weak<RwLock<Arc<KeyRing>>>, clock: Clock) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(RELOAD_EVERY);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(cell) = cell.upgrade() else { return };
            match ring.read_into(&cell, clock.now()).await {
                Ok(()) => {}
                Err(KeyError::Database(sqlx::Error::PoolClosed)) => return,
                Err(error) => {
                    tracing::warn!(%error, "the key ring could not be read; keeping the last one")
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_kid() {
        let sealer = Sealer::new(&Secret::new(vec![7; 32]));
        let sealed = sealer.seal("kid-a", b"a secret of thirty-two bytes!!!!");
        assert_eq!(
            sealer.open("kid-a", &sealed).as_deref(),
            Some(&b"a secret of thirty-two bytes!!!!"[..])
        );
        // The same secret sealed twice differs (a fresh nonce each time).
        assert_ne!(
            sealed,
            sealer.seal("kid-a", b"a secret of thirty-two bytes!!!!")
        );
        assert!(!sealed.windows(8).any(|window| window == b"a secret"));
        // Moved to another kid, sealed under another key, altered, cut short: it does not open.
        assert_eq!(sealer.open("kid-b", &sealed), None);
        assert_eq!(
            Sealer::new(&Secret::new(vec![8; 32])).open("kid-a", &sealed),
            None
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("kid-a", &altered), None);
        assert_eq!(sealer.open("kid-a", &sealed[..NONCE_BYTES]), None);
    }
}
