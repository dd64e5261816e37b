//! Random identifiers and the hashes the server keeps instead of secrets.
//!
//! Every random value the server hands out comes from the operating system's generator and is
//! written in URL-safe base64 without padding: safe in cookies, URLs and JSON alike.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the operating system.
pub fn random_bytes(bytes: usize) -> Vec<u8> {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    buffer
}

/// `bytes` random bytes, URL-safe base64: a token, a `jti`.
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// 16 random bytes: names a device on the devices page without revealing anything about it.
pub fn new_public_id() -> String {
    random_token(16)
}

/// SHA-256 of `bytes`: what the server stores in place of a session ID or a refresh token, so
/// that a copy of the database rides nothing.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

/// `bytes` in lowercase hexadecimal: a hash as a Redis key, a fingerprint on a page.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A short, non-reversible hint of a secret for logs and pages: the first `bytes` of its hash,
/// never the secret itself.
pub fn fingerprint(secret: &[u8], bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(&sha256(secret)[..bytes.min(32)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_url_safe_and_do_not_repeat() {
        let id = new_public_id();
        assert_eq!(id.len(), 22, "16 bytes in unpadded base64");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(id, new_public_id());
    }

    #[test]
    fn a_fingerprint_is_short_and_stable() {
        assert_eq!(fingerprint(b"secret", 4), fingerprint(b"secret", 4));
        assert_ne!(fingerprint(b"secret", 4), fingerprint(b"secreu", 4));
        assert_eq!(fingerprint(b"secret", 6).len(), 8);
    }
}
