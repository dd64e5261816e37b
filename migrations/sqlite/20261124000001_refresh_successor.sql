-- A refresh token's successor is now derived from it, so an exchange within the grace window
-- finds the successor already issued by its parent instead of adding a sibling.
create index refresh_tokens_parent on refresh_tokens (parent_hash);
