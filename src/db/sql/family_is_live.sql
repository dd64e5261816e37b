select exists(
    select 1 from refresh_families
    where public_id = ? and revoked_at is null and expires_at > ?
) as "live!: bool"
