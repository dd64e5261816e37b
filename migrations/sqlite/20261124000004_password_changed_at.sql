-- When the password was last changed: the account page says so even after the activity log
-- has let the entry go (it keeps 90 days and 1000 entries).
alter table users add column password_changed_at integer;
