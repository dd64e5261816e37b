-- The JWT key ring, when it is kept in the database (JWT_KEY_ENCRYPTION_KEY): every server of
-- the database signs and verifies with the same keys, and learns of a rotation by reading here.
create table signing_keys (
    -- the `kid` of the tokens it signs (under EdDSA the public key's, derived on reading)
    kid        text    primary key,
    -- the secret sealed with XChaCha20-Poly1305 under a key from the environment (its nonce
    -- first, then the ciphertext and tag; the kid is authenticated with it): a copy of this
    -- table signs nothing
    sealed     blob    not null,
    created_at integer not null,
    -- a new key verifies on every server before any server signs with it
    signs_from integer not null,
    -- after this time it no longer verifies; null while in service
    retires_at integer
) without rowid;
