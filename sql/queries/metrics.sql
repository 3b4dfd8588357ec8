-- Named queries of the dashboard. They read the daily rollups and LINE's Insight tables, never
-- the raw events; every one is scoped to the tenants the caller may see ({tenants}).

-- name: metrics.tables_present
-- Which optional tables (owned by other features) exist in this installation.
SELECT name FROM system.tables
WHERE database = currentDatabase() AND name IN {names:Array(String)};

-- name: metrics.followers_month_end
-- Per tenant: LINE's figures on the last ready day of the month, and of the month before.
-- Tuples keep NULLs (LINE's privacy threshold) as NULL instead of falling back to another day.
SELECT tenant_id,
       countIf(day >= {from:Date}) AS cur_n,
       toString(maxIf(day, day >= {from:Date})) AS cur_day,
       argMaxIf(tuple(followers, targeted_reaches, blocks), day, day >= {from:Date}) AS cur,
       countIf(day < {from:Date}) AS prev_n,
       argMaxIf(tuple(followers, targeted_reaches, blocks), day, day < {from:Date}) AS prev
FROM insight_followers_daily FINAL
WHERE tenant_id IN {tenants:Array(String)} AND status = 'ready'
  AND day >= {prevFrom:Date} AND day <= {to:Date}
GROUP BY tenant_id;

-- name: metrics.webhooks_per_month
-- Per tenant and month: follows, unblocks and blocks as LINE's webhooks reported them.
SELECT tenant_id, toString(toStartOfMonth(day)) AS month,
       sum(follows) AS follows, sum(unblocks) AS unblocks, sum(unfollows) AS unfollows
FROM webhook_events_per_day FINAL
WHERE tenant_id IN {tenants:Array(String)} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY tenant_id, month
ORDER BY tenant_id, month;

-- name: metrics.webhooks_per_day
-- One tenant's days: follows, unblocks and blocks from the webhook rollup.
SELECT toString(day) AS day_iso, follows, unblocks, unfollows
FROM webhook_events_per_day FINAL
WHERE tenant_id = {tenant:String} AND day BETWEEN {from:Date} AND {to:Date}
ORDER BY day;

-- name: metrics.followers_per_day
-- One tenant's days as LINE's Insight reported them (ready answers only; NULL stays NULL).
SELECT toString(day) AS day_iso, followers, targeted_reaches, blocks
FROM insight_followers_daily FINAL
WHERE tenant_id = {tenant:String} AND status = 'ready' AND day BETWEEN {from:Date} AND {to:Date}
ORDER BY day;

-- name: metrics.deliveries
-- Deliveries sent in a period with the latest ready statistics LINE gave for each.
SELECT t.tenant_id AS tenant_id, t.kind AS kind, t.key AS key,
       toUnixTimestamp64Milli(t.sent_at) AS sent_ms,
       t.has_stats AS has_stats,
       t.delivered AS delivered, t.unique_impression AS unique_impression, t.unique_click AS unique_click,
       '' AS title, CAST(NULL AS Nullable(UInt64)) AS accepted
FROM insight_tracked_stats(tenants = {tenants:Array(String)}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}) AS t
ORDER BY t.sent_at
SETTINGS join_use_nulls = 0;

-- name: metrics.deliveries_with_records
-- The same, with the delivery records (title, recipients accepted) where delivery/ keeps them:
-- LINE gives no delivered count for an aggregation unit, the records do. Deliveries made elsewhere
-- (LINE's own manager) have no record.
SELECT t.tenant_id AS tenant_id, t.kind AS kind, t.key AS key,
       toUnixTimestamp64Milli(t.sent_at) AS sent_ms,
       t.has_stats AS has_stats,
       t.delivered AS delivered, t.unique_impression AS unique_impression, t.unique_click AS unique_click,
       r.title AS title, if(r.n = 0, NULL, r.accepted) AS accepted
FROM insight_tracked_stats(tenants = {tenants:Array(String)}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}) AS t
LEFT JOIN
(
    -- a multicast is tracked by its aggregation unit, a broadcast by LINE's request id
    SELECT tenant_id,
           if(send_method = 'broadcast', 'request_id', 'aggregation_unit') AS tracked_kind,
           if(send_method = 'broadcast', request_id, aggregation_unit) AS tracked_key,
           any(title) AS title, toUInt64(sum(accepted)) AS accepted, count() AS n
    FROM deliveries FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND kind = 'normal'
      AND if(send_method = 'broadcast', request_id, aggregation_unit) != ''
    GROUP BY tenant_id, tracked_kind, tracked_key
) AS r
ON t.tenant_id = r.tenant_id AND t.kind = r.tracked_kind AND t.key = r.tracked_key
ORDER BY t.sent_at
SETTINGS join_use_nulls = 0;

-- name: metrics.resident_attributes
-- Friends of one tenant by registered attribute (one count per item and value; a resident counts once
-- per value). 関心のある分野 is counted at its middle level (大/中: the area below it would split it
-- too finely), 生まれ年 by age group in {year} (Japan time): 10代以下, 20代 … 80代以上.
SELECT item, value, count() AS residents
FROM
(
    SELECT toString(item) AS item,
           multiIf(item = 'interests', arrayDistinct(arrayMap(v -> arrayStringConcat(arraySlice(splitByChar('/', v), 1, 2), '/'), values)),
                   item = 'birth_year', arrayDistinct(arrayMap(v -> multiIf(toInt32OrZero(v) = 0, '不明',
                                                                         {year:Int32} - toInt32OrZero(v) < 20, '10代以下',
                                                                         {year:Int32} - toInt32OrZero(v) >= 80, '80代以上',
                                                                         concat(toString(intDiv({year:Int32} - toInt32OrZero(v), 10) * 10), '代')), values)),
                   values) AS vals
    FROM resident_attributes FINAL
    WHERE tenant_id = {tenant:String}
      AND user_id IN (SELECT user_id FROM resident_states FINAL WHERE tenant_id = {tenant:String} AND is_friend = 1)
)
ARRAY JOIN vals AS value
GROUP BY item, value
ORDER BY item, residents DESC, value;

-- name: metrics.attribute_names
-- The names behind a tenant's attribute values: its categories (areas and the interest tree) and its
-- extra items with their options (JSON), as delivery/ keeps them.
SELECT 'category' AS kind, category_id AS id, name, '' AS options FROM delivery_categories FINAL WHERE tenant_id = {tenant:String}
UNION ALL
SELECT 'item' AS kind, item_id AS id, label AS name, options FROM delivery_attribute_items FINAL WHERE tenant_id = {tenant:String};
