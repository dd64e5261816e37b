select u.role from refresh_families f join users u on u.id = f.user_id
where f.public_id = ? and f.revoked_at is null and f.expires_at > ?
