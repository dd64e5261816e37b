-- The JWT key ring, when it is kept in the database (JWT_KEY_ENCRYPTION_KEY): see
-- migrations/sqlite/20261125000001_signing_keys.sql.
create table signing_keys (
    kid        text   primary key,
    sealed     bytea  not null,
    created_at bigint not null,
    signs_from bigint not null,
    retires_at bigint
);
