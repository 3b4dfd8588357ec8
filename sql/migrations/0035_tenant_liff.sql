-- The tenant's residents' pages inside LINE (LIFF): its LINE Login channel (the ID token's audience)
-- and the LIFF app opened from LINE (empty: not set up).
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS liff_channel_id String DEFAULT '' AFTER auto_reply_text;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS liff_id String DEFAULT '' AFTER liff_channel_id;
