-- name: insight.followers_range
-- A tenant's daily followers figures (latest fetch of each day).
SELECT tenant_id, toString(day) AS day_iso, status, followers, targeted_reaches, blocks,
       toUnixTimestamp64Milli(fetched_at) AS fetched_ms
FROM insight_followers_daily FINAL
WHERE tenant_id = {tenantId:String} AND day BETWEEN {from:Date} AND {to:Date}
ORDER BY day;

-- name: insight.followers_days_stored
-- Days of a range that already have a final answer (ready or out_of_service).
SELECT DISTINCT toString(day) AS day_iso
FROM insight_followers_daily
WHERE tenant_id = {tenantId:String} AND day BETWEEN {from:Date} AND {to:Date};

-- name: insight.tracked_active
-- Tracked deliveries still within their polling window (plus a grace period for the final
-- poll), with the time of their latest poll (0 when never polled).
SELECT t.tenant_id AS tenant_id, t.kind AS kind, t.key AS key,
       toUnixTimestamp64Milli(t.sent_at) AS sent_ms,
       toUnixTimestamp64Milli(t.track_until) AS until_ms,
       s.last_ms AS last_ms
FROM
(
    SELECT tenant_id, kind, key, sent_at, track_until
    FROM insight_tracked_deliveries FINAL
    WHERE track_until >= {since:DateTime64(3)}
) AS t
LEFT JOIN
(
    SELECT tenant_id, kind, key, max(toUnixTimestamp64Milli(fetched_at)) AS last_ms
    FROM insight_message_stats
    WHERE sent_at >= {since:DateTime64(3)} - INTERVAL 15 DAY
    GROUP BY tenant_id, kind, key
) AS s
ON t.tenant_id = s.tenant_id AND t.kind = s.kind AND t.key = s.key
ORDER BY t.tenant_id, t.sent_at
SETTINGS join_use_nulls = 0;

-- name: insight.tracked_list
-- Every delivery registered for a tenant, newest first.
SELECT tenant_id, kind, key,
       toUnixTimestamp64Milli(sent_at) AS sent_ms,
       toUnixTimestamp64Milli(track_until) AS until_ms
FROM insight_tracked_deliveries FINAL
WHERE tenant_id = {tenantId:String}
ORDER BY sent_at DESC;

-- name: insight.message_stats_latest
-- The latest ready snapshot of each delivery of a tenant.
SELECT tenant_id, kind, key,
       toUnixTimestamp64Milli(sent_at) AS sent_ms,
       toUnixTimestamp64Milli(fetched_at) AS fetched_ms,
       delivered, unique_impression, unique_click, unique_media_played, unique_media_played_100_percent,
       impression, click, media_played, messages, clicks
FROM insight_message_stats
WHERE tenant_id = {tenantId:String} AND status = 'ready'
ORDER BY kind, key, fetched_at DESC
LIMIT 1 BY kind, key;

-- name: insight.message_stats_history
-- Every snapshot of one delivery, oldest first.
SELECT toUnixTimestamp64Milli(fetched_at) AS fetched_ms, status,
       delivered, unique_impression, unique_click, impression, click
FROM insight_message_stats
WHERE tenant_id = {tenantId:String} AND kind = {kind:String} AND key = {key:String}
ORDER BY fetched_at;
