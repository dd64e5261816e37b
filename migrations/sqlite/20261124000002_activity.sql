-- The activity log: what happened to an account, newest first on /activity.
-- It holds no secret: no password, no token or session ID, no username typed by a stranger.

create table activity (
    id        integer primary key,
    user_id   integer not null references users (id) on delete cascade,
    at        integer not null,
    -- 'signed_in', 'sign_in_failed', 'signed_out', 'device_killed', 'password_changed',
    -- 'refresh_reuse', 'mode_switched' (model::ActivityKind names them all)
    kind      text    not null,
    -- the device the event is about: its public id (as on the devices page), mode and
    -- description; null when it is about the account as a whole
    device_id text,
    mode      text,
    device    text,
    -- the client address of the request that caused it
    ip        text    not null,
    -- failed sign-ins from one address are counted on one row until another event comes
    count     integer not null default 1,
    -- facts particular to the kind: which device did it, how many ended, until when an
    -- access token stays valid (model::ActivityDetail, JSON)
    detail    text    not null default '{}'
);

-- One user's log, newest first; and the per-user bound (keep the newest N).
create index activity_user_at on activity (user_id, at desc, id desc);
-- The sweeper: entries past the age bound.
create index activity_at on activity (at);
