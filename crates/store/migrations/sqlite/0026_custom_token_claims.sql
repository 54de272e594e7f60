-- A session begun with a custom token (`signInWithCustomToken`) puts the token's claims in
-- every ID token it mints, refreshed ones included: its refresh token keeps them (JSON).
ALTER TABLE refresh_tokens ADD COLUMN developer_claims TEXT;
