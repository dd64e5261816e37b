-- The whole schema on PostgreSQL: the same tables, columns and rules as migrations/sqlite, as
-- they stand after its 20261124000007 (later changes come in pairs, one migration each).
-- Times are unix seconds (UTC) in bigint: comparable, indexable, free of time zones.

create table users (
    id                  bigint  generated always as identity primary key,
    -- kept as typed; uniqueness and look-ups ignore ASCII case (usernames are ASCII by rule)
    username            text    not null,
    -- argon2id PHC string: algorithm, parameters and salt travel with the hash
    password_hash       text    not null,
    role                text    not null default 'user' check (role in ('user', 'admin')),
    created_at          bigint  not null,
    -- how many devices the account may be signed in on at once: null for no limit
    device_limit        bigint  check (device_limit between 1 and 10),
    -- what a sign-in beyond the limit does
    when_full           text    not null default 'end_least_recent'
        check (when_full in ('refuse', 'end_least_recent')),
    -- when the password was last changed (not rehashed)
    password_changed_at bigint,
    -- when an administrator last changed the role
    role_changed_at     bigint
);

-- The only unique key besides the primary key: the app reads a unique violation on insert as
-- "username taken". Look-ups compare lower(username), so they use this index.
create unique index users_username_key on users (lower(username));

-- One row per signed-in browser in cookie-session mode.
create table sessions (
    -- SHA-256 of the session ID: the raw ID exists only in the browser's cookie
    id_hash      bytea   primary key,
    -- what pages and the API call this session; random, unrelated to the session ID
    public_id    text    not null unique,
    user_id      bigint  not null references users (id) on delete cascade,
    device       text    not null,
    ip           text    not null,
    created_at   bigint  not null,
    last_seen_at bigint  not null,
    expires_at   bigint  not null,
    -- the tower-sessions record (JSON, as text: stored as the app wrote it)
    data         text    not null,
    -- signed in with "Remember me"
    remembered   boolean not null default true
);

create index sessions_user_last_seen on sessions (user_id, last_seen_at desc, created_at desc);
create index sessions_expires_at on sessions (expires_at);

-- A session ended by someone else: its browser's next request is told why.
create table ended_sessions (
    id_hash    bytea  primary key,
    user_id    bigint not null references users (id) on delete cascade,
    reason     text   not null,
    ended_at   bigint not null,
    expires_at bigint not null
);

create index ended_sessions_expires_at on ended_sessions (expires_at);

-- JWT mode: a family is one signed-in device, a chain of refresh tokens.
create table refresh_families (
    id                bigint  generated always as identity primary key,
    public_id         text    not null unique,
    user_id           bigint  not null references users (id) on delete cascade,
    device            text    not null,
    ip                text    not null,
    created_at        bigint  not null,
    last_used_at      bigint  not null,
    expires_at        bigint  not null,
    access_expires_at bigint  not null,
    revoked_at        bigint,
    revoked_reason    text,
    remembered        boolean not null default true
);

create index refresh_families_user_last_used
    on refresh_families (user_id, last_used_at desc, created_at desc);
create index refresh_families_expires_at on refresh_families (expires_at);

create table refresh_tokens (
    id                bigint generated always as identity primary key,
    -- SHA-256 of the token: the token itself exists only with its holder
    hash              bytea  not null unique,
    family_id         bigint not null references refresh_families (id) on delete cascade,
    parent_hash       bytea,
    created_at        bigint not null,
    expires_at        bigint not null,
    used_at           bigint,
    revoked_at        bigint,
    ip                text   not null,
    access_jti        text   not null,
    access_expires_at bigint not null
);

create index refresh_tokens_family on refresh_tokens (family_id, created_at);
create index refresh_tokens_parent on refresh_tokens (parent_hash);
create index refresh_tokens_access_expires_at on refresh_tokens (access_expires_at);

-- The activity log. It holds no secret.
create table activity (
    id        bigint generated always as identity primary key,
    user_id   bigint not null references users (id) on delete cascade,
    at        bigint not null,
    kind      text   not null,
    device_id text,
    mode      text,
    device    text,
    ip        text   not null,
    count     bigint not null default 1,
    detail    text   not null default '{}'
);

create index activity_user_at on activity (user_id, at desc, id desc);
create index activity_at on activity (at);
