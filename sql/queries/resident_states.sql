-- Residents' follow state (delivery/) rebuilt from the stored webhooks: the ingest handler writes it
-- after the webhook is acknowledged, so a crash in between could leave a resident's state behind.
-- Replaying the recent follows and blocks is idempotent: a row's version follows from the event's
-- time exactly as the handler computes it (ms × 10 + 1 for a follow), so replays collapse into it.

-- name: resident_states.replay_from_webhooks
INSERT INTO resident_states (tenant_id, user_id, is_friend, changed_at, version)
SELECT tenant_id, user_id, toUInt8(type = 'follow') AS is_friend, ts AS changed_at,
       toUInt64(toUnixTimestamp64Milli(ts)) * 10 + toUInt8(type = 'follow') AS version
FROM raw_webhook_events
WHERE received_at >= {since:DateTime64(3)}
  AND type IN ('follow', 'unfollow') AND source_type = 'user' AND user_id != ''
