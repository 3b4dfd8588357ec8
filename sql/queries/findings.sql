-- Named queries of metrics/findings: a few aggregates over the period, never one query per delivery.
-- Every one takes the tenants ({tenants}) and the period ([from, to) in UTC, Tokyo midnights).

-- name: findings.deliveries
-- Each delivery LINE tracked in the period: when it was sent (Tokyo hour and weekday), LINE's latest
-- ready statistics, and from delivery's records what it was (message types, text length, links,
-- bubbles, audience). Recipients: LINE's delivered, else the records' accepted.
SELECT t.tenant_id AS tenant_id, t.key AS key,
       toUnixTimestamp64Milli(t.sent_at) AS sent_ms,
       toHour(t.sent_at, 'Asia/Tokyo') AS hour,
       toDayOfWeek(t.sent_at, 0, 'Asia/Tokyo') AS weekday,
       t.delivered AS delivered, t.unique_impression AS unique_impression, t.unique_click AS unique_click,
       if(r.n = 0, NULL, r.accepted) AS accepted,
       r.delivery_id AS delivery_id, r.title AS title, r.types AS types, r.text_length AS text_length,
       r.links AS links, r.audience AS audience
FROM insight_tracked_stats(tenants = {tenants:Array(String)}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)}) AS t
LEFT JOIN
(
    SELECT tenant_id,
           if(send_method = 'broadcast', 'request_id', 'aggregation_unit') AS tracked_kind,
           if(send_method = 'broadcast', request_id, aggregation_unit) AS tracked_key,
           any(delivery_id) AS delivery_id, any(title) AS title,
           any(arrayMap(m -> JSONExtractString(m, 'type'), JSONExtractArrayRaw(messages))) AS types,
           any(arraySum(arrayMap(m -> lengthUTF8(JSONExtractString(m, 'text')), JSONExtractArrayRaw(messages)))) AS text_length,
           any(toUInt32(length(links) + (length(links) = 0 AND match(messages, 'https?://')))) AS links,
           any(audience) AS audience,
           toUInt64(sum(accepted)) AS accepted, count() AS n
    FROM deliveries FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND kind = 'normal'
      AND if(send_method = 'broadcast', request_id, aggregation_unit) != ''
    GROUP BY tenant_id, tracked_kind, tracked_key
) AS r
ON t.tenant_id = r.tenant_id AND t.kind = r.tracked_kind AND t.key = r.tracked_key
ORDER BY t.tenant_id, t.sent_at
SETTINGS join_use_nulls = 0;

-- name: findings.follows_daily
-- New friends (follows and unblocks) and blocks per tenant and Tokyo day, two weeks either side of
-- the period (promotion events at its edges are compared before and after; a delivery's blocks are
-- those of its day and the two after).
SELECT tenant_id, toString(day) AS day_iso, follows + unblocks AS follows, unfollows
FROM webhook_events_per_day FINAL
WHERE tenant_id IN {tenants:Array(String)}
  AND day BETWEEN toDate({from:DateTime64(3)}, 'Asia/Tokyo') - 14 AND toDate({to:DateTime64(3)}, 'Asia/Tokyo') + 14
ORDER BY tenant_id, day;

-- name: findings.friends_span
-- Per tenant: LINE's friend count on the first and the last ready day of the period (NULL stays NULL).
SELECT tenant_id,
       toString(min(day)) AS first_day, argMin(followers, day) AS first_friends,
       toString(max(day)) AS last_day, argMax(followers, day) AS last_friends
FROM insight_followers_daily FINAL
WHERE tenant_id IN {tenants:Array(String)} AND status = 'ready'
  AND day >= toDate({from:DateTime64(3)}, 'Asia/Tokyo') AND day < toDate({to:DateTime64(3)}, 'Asia/Tokyo')
GROUP BY tenant_id;

-- name: findings.promotions
-- Promotion events the contractor recorded in the period: issue-log entries whose 分類 names a
-- promotion, and minutes whose title or agenda does (チラシ, 広報, 周知, イベント, 健康まつり …).
SELECT tenant_id, toString(raised_on) AS day_iso, concat(category, ': ', substring(description, 1, 60)) AS label, 'issue' AS source
FROM report_issues FINAL
WHERE tenant_id IN {tenants:Array(String)}
  AND raised_on >= toDate({from:DateTime64(3)}, 'Asia/Tokyo') AND raised_on < toDate({to:DateTime64(3)}, 'Asia/Tokyo')
  AND match(category, {pattern:String})
UNION ALL
SELECT arrayJoin(tenant_ids) AS tenant_id, toString(toDate(held_at, 'Asia/Tokyo')) AS day_iso, title AS label, 'minutes' AS source
FROM report_minutes FINAL
WHERE held_at >= {from:DateTime64(3)} AND held_at < {to:DateTime64(3)}
  AND (match(title, {pattern:String}) OR arrayExists(a -> match(a, {pattern:String}), agenda))
  AND hasAny(tenant_ids, {tenants:Array(String)});

-- name: findings.mileage_first_activity
-- Per tenant and activity: residents whose first award of the fiscal programme came from it in the
-- period (what brings new participants), with the activity's name.
SELECT f.tenant_id AS tenant_id, f.activity_id AS activity_id, any(a.name) AS name, count() AS newcomers
FROM
(
    SELECT tenant_id, user_id, argMin(activity_id, recorded_at) AS activity_id, min(recorded_at) AS first_at
    FROM mileage_ledger
    WHERE tenant_id IN {tenants:Array(String)} AND points > 0
    GROUP BY tenant_id, user_id
    HAVING first_at >= {from:DateTime64(3)} AND first_at < {to:DateTime64(3)}
) AS f
LEFT JOIN (SELECT tenant_id, activity_id, name FROM mileage_activities FINAL WHERE tenant_id IN {tenants:Array(String)}) AS a
ON f.tenant_id = a.tenant_id AND f.activity_id = a.activity_id
GROUP BY tenant_id, activity_id
ORDER BY tenant_id, newcomers DESC;

-- name: findings.mileage_hourly
-- Awards (ledger entries with points) per tenant and hour in the period and three days after.
SELECT tenant_id, toUnixTimestamp(toStartOfHour(recorded_at)) AS hour_s, count() AS awards
FROM mileage_ledger
WHERE tenant_id IN {tenants:Array(String)} AND points > 0
  AND recorded_at >= {from:DateTime64(3)} AND recorded_at < {to:DateTime64(3)} + INTERVAL 3 DAY
GROUP BY tenant_id, hour_s
ORDER BY tenant_id, hour_s;

-- name: findings.categories
-- The large categories of the tenants' interest trees (a segment's targeted interest is named by its root).
SELECT tenant_id, category_id, name FROM delivery_categories FINAL
WHERE tenant_id IN {tenants:Array(String)} AND parent_id = '';
