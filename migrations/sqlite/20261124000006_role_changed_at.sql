-- When an administrator last changed the account's role: access tokens issued before it carry
-- the old `role` claim until they expire, and the admin page says until when.
alter table users add column role_changed_at integer;
