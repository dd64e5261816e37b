-- Device policies, and why a cookie session ended.

-- How many devices the account may be signed in on at once: null for no limit, 1 for "one
-- device" (a new sign-in ends the others), 2..10 for "at most N".
alter table users add column device_limit integer check (device_limit between 1 and 10);
-- What a sign-in beyond the limit does: is refused, or ends the least recently active device.
alter table users add column when_full text not null default 'end_least_recent'
    check (when_full in ('refuse', 'end_least_recent'));

-- A session ended by someone else (another device, a password change, the device policy): its
-- browser's next request is told why instead of only finding nothing. Keyed, like sessions, by
-- the SHA-256 of the session ID; kept until the session would have expired.
create table ended_sessions (
    id_hash    blob    primary key,
    user_id    integer not null references users (id) on delete cascade,
    -- a model::RevocationReason key
    reason     text    not null,
    ended_at   integer not null,
    expires_at integer not null
) without rowid;

create index ended_sessions_expires_at on ended_sessions (expires_at);
