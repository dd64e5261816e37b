select id_hash, public_id, user_id, device, ip, created_at, last_seen_at, expires_at,
                 remembered
             from sessions where user_id = ? and expires_at > ?
             order by last_seen_at desc, created_at desc