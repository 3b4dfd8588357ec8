-- name: webhook_events.refresh_days
-- Rebuilds the rollup rows of one tenant's days from the deduplicated raw events.
INSERT INTO webhook_events_per_day
SELECT tenant_id, day,
       countIf(type = 'follow' AND is_unblocked = 0) AS follows,
       countIf(type = 'follow' AND is_unblocked = 1) AS unblocks,
       countIf(type = 'unfollow')                    AS unfollows,
       countIf(type = 'postback')                    AS postbacks,
       countIf(type = 'message')                     AS messages,
       count()                                       AS events,
       uniqExactIf(user_id, user_id != '')           AS users,
       now64(3)                                      AS computed_at
FROM raw_webhook_events FINAL
WHERE tenant_id = {tenant:String} AND day IN {days:Array(Date)}
GROUP BY tenant_id, day;

-- name: webhook_events.days_since
-- (tenant, day) pairs that received events at or after a point in time: what a restart must re-roll.
SELECT DISTINCT tenant_id, toString(day) AS day
FROM raw_webhook_events
WHERE received_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC');

-- name: webhook_events.rollup_watermark
SELECT toUnixTimestamp64Milli(max(computed_at)) AS ms, count() AS n FROM webhook_events_per_day;
