-- "Remember me": a device signed in without it lives briefly (a browser-session cookie, short
-- idle and absolute lifetimes); with it, long. The server enforces either from its settings
-- and this flag, so a change of settings applies to every device at once.
-- Devices from before the box existed were given the long lifetimes: they stay remembered.
alter table sessions add column remembered boolean not null default 1;
alter table refresh_families add column remembered boolean not null default 1;
