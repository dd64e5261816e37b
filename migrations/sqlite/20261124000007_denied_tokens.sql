-- The denylist of every server is rebuilt from here at start (and after a lost broadcast): the
-- access tokens that have not expired yet, of families that were revoked. Access tokens live
-- minutes, so this index range is short however many tokens the table holds.
create index refresh_tokens_access_expires_at on refresh_tokens (access_expires_at);
