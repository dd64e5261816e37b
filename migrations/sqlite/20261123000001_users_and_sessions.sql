-- Accounts and cookie sessions.
-- Times are unix seconds (UTC): comparable, indexable, and free of time-zone parsing.

create table users (
    id            integer primary key,
    -- kept as typed; uniqueness and look-ups ignore ASCII case (usernames are ASCII by rule)
    username      text    not null,
    -- argon2id PHC string: algorithm, parameters and salt travel with the hash
    password_hash text    not null,
    role          text    not null default 'user' check (role in ('user', 'admin')),
    created_at    integer not null
);

-- The only unique key of the table besides its rowid: the app reads any unique violation on
-- insert as "username taken" (SQLite does not report which constraint failed).
create unique index users_username_key on users (username collate nocase);

-- One row per signed-in browser in cookie-session mode.
create table sessions (
    -- SHA-256 of the session ID: the raw ID exists only in the browser's cookie, so a copy of
    -- this table lets nobody ride a session.
    id_hash      blob    primary key,
    -- what pages and the API call this session; random, unrelated to the session ID
    public_id    text    not null unique,
    user_id      integer not null references users (id) on delete cascade,
    -- browser and OS parsed from the User-Agent at sign-in, and the latest client IP
    device       text    not null,
    ip           text    not null,
    created_at   integer not null,
    last_seen_at integer not null,
    expires_at   integer not null,
    -- the tower-sessions record (JSON); the columns above are derived from it on every save
    data         text    not null
) without rowid;

-- The devices page: one user's sessions, most recently active first.
create index sessions_user_last_seen on sessions (user_id, last_seen_at desc, created_at desc);
-- The sweeper: expired rows.
create index sessions_expires_at on sessions (expires_at);
