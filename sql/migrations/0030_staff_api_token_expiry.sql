-- API tokens expire (default 90 days after they are made, settable when made). Tokens made before
-- this migration expire 90 days after their creation. A revoked token is a newer version of its row
-- with is_deleted = 1 (FINAL no longer returns it).
ALTER TABLE staff_api_tokens
    ADD COLUMN IF NOT EXISTS expires_at DateTime64(3, 'UTC') DEFAULT created_at + INTERVAL 90 DAY;
