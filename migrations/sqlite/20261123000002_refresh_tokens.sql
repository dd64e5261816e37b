-- JWT mode: refresh-token families and their tokens.
-- A family is one signed-in device; every refresh rotates its token, so a family is a chain
-- (sometimes a small tree, when two tabs refresh at once within the grace window).

create table refresh_families (
    id                integer primary key,
    -- the `sid` claim of the family's access tokens and its id on the devices page
    public_id         text    not null unique,
    user_id           integer not null references users (id) on delete cascade,
    device            text    not null,
    -- client IP of the latest sign-in or refresh
    ip                text    not null,
    created_at        integer not null,
    last_used_at      integer not null,
    -- when the newest refresh token of the family expires: the family is dead after it
    expires_at        integer not null,
    -- when the newest access token issued to the family expires: after a kill, the device
    -- keeps access until then
    access_expires_at integer not null,
    revoked_at        integer,
    -- 'signed out', 'signed out from another device', 'refresh token reused', 'switched mode'
    revoked_reason    text
);

-- The devices page: one user's families, most recently used first.
create index refresh_families_user_last_used
    on refresh_families (user_id, last_used_at desc, created_at desc);
-- The sweeper: expired families.
create index refresh_families_expires_at on refresh_families (expires_at);

create table refresh_tokens (
    -- issue order, for the rotation history
    id          integer primary key,
    -- SHA-256 of the token: the token itself exists only with its holder
    hash        blob    not null unique,
    family_id   integer not null references refresh_families (id) on delete cascade,
    -- the token this one replaced; null for the family's first
    parent_hash blob,
    created_at  integer not null,
    expires_at  integer not null,
    -- set when the token is exchanged; a second exchange after the grace window revokes the family
    used_at     integer,
    revoked_at  integer,
    -- client IP of the request that received this token
    ip          text    not null,
    -- the access token issued with this refresh token: what a denylist must hold when the
    -- family is revoked (the token itself is not stored)
    access_jti        text    not null,
    access_expires_at integer not null
);

-- Revoking a family, and its rotation history.
create index refresh_tokens_family on refresh_tokens (family_id, created_at);
