select data, expires_at from sessions where id_hash = ? and expires_at > ?
