-- Data generation and raw-table baselines for `npm run bench -- dashboard` (never used by the suite).

-- name: dashboard_bench.raw_events
-- {count} synthetic webhook events from {offset}, spread over {days} days from {start} and over the
-- tenants weighted by population ({weights}: cumulative, ends at 1). ~70% messages, 15% postbacks,
-- 10% follows (a fifth of them unblocks), 5% blocks; residents drawn from {residents} per tenant.
INSERT INTO raw_webhook_events
SELECT tenant_id, day, type, webhook_event_id, ts, 'active', 'user', user_id, '', 0, is_unblocked, postback_data, message_type, ts
FROM
(
    SELECT
        number AS n,
        cityHash64(n, 1) % 1000000 / 1000000.0 AS r_tenant,
        cityHash64(n, 2) % 100 AS r_type,
        {tenants:Array(String)}[arrayFirstIndex(w -> r_tenant < w, {weights:Array(Float64)})] AS tenant_id,
        toDate({start:Date}) + toUInt32(cityHash64(n, 3) % {days:UInt32}) AS day,
        multiIf(r_type < 70, 'message', r_type < 85, 'postback', r_type < 95, 'follow', 'unfollow') AS type,
        lower(hex(cityHash64(n, 4))) || lower(hex(n)) AS webhook_event_id,
        toDateTime64(toDateTime(day, 'Asia/Tokyo') + toUInt32(cityHash64(n, 5) % 86400), 3, 'UTC') AS ts,
        concat('U', lower(hex(cityHash64(tenant_id, cityHash64(n, 6) % {residents:UInt64}))), '0000000000000000') AS user_id,
        toUInt8(type = 'follow' AND cityHash64(n, 7) % 5 = 0) AS is_unblocked,
        if(type = 'postback', 'action=mileage', '') AS postback_data,
        if(type = 'message', 'text', '') AS message_type
    FROM numbers({offset:UInt64}, {count:UInt64})
);

-- name: dashboard_bench.rollup_all
-- The daily rollup for every tenant and day at once (what the ingest rollup keeps up to date).
INSERT INTO webhook_events_per_day
SELECT tenant_id, day,
       countIf(type = 'follow' AND is_unblocked = 0), countIf(type = 'follow' AND is_unblocked = 1),
       countIf(type = 'unfollow'), countIf(type = 'postback'), countIf(type = 'message'), count(),
       uniq(user_id), now64(3)
FROM raw_webhook_events
GROUP BY tenant_id, day;

-- name: dashboard_bench.followers
-- LINE's daily followers figures per tenant: growing from a tenth of {friendsMax} per tenant.
INSERT INTO insight_followers_daily
SELECT t, d, 'ready', f, toUInt64(f * 0.9), toUInt64(f * 0.06), now64(3), 1
FROM
(
    SELECT arrayJoin({tenants:Array(String)}) AS t, toDate({start:Date}) + number AS d,
           toUInt64(({friendsMax:UInt64} / 10) * (1 + number / {days:UInt32}) * (1 + cityHash64(t) % 5)) AS f
    FROM numbers({days:UInt32})
);

-- name: dashboard_bench.tracked
-- Two deliveries a week per tenant, tracked by request id.
INSERT INTO insight_tracked_deliveries
SELECT t, 'request_id', concat(t, '-', toString(number)), s, s + INTERVAL 14 DAY, s, 1, 0
FROM
(
    SELECT arrayJoin({tenants:Array(String)}) AS t, number,
           toDateTime64(toDateTime(toDate({start:Date}) + toUInt32(number * 3.5), 'Asia/Tokyo') + 36000, 3, 'UTC') AS s
    FROM numbers(toUInt64({days:UInt32} / 3.5))
);

-- name: dashboard_bench.stats
-- Seven snapshots per delivery, the last the largest.
INSERT INTO insight_message_stats (tenant_id, kind, key, sent_at, fetched_at, status, delivered, unique_impression, unique_click, response)
SELECT tenant_id, kind, key, sent_at, sent_at + toIntervalDay(k * 2), 'ready',
       toUInt64(5000 + cityHash64(key) % 20000) AS dl,
       toUInt64(dl * (0.3 + 0.04 * k)), toUInt64(dl * 0.05), '{}'
FROM insight_tracked_deliveries FINAL
ARRAY JOIN range(1, 8) AS k;

-- name: dashboard_bench.residents
-- {count} residents in total spread over the tenants like the events, a fifth of them blocked.
INSERT INTO resident_states
SELECT tenant_id, user_id, toUInt8(cityHash64(number, 9) % 5 != 0), now64(3), 1
FROM
(
    SELECT number,
           {tenants:Array(String)}[arrayFirstIndex(w -> cityHash64(number, 8) % 1000000 / 1000000.0 < w, {weights:Array(Float64)})] AS tenant_id,
           concat('U', lower(hex(cityHash64(tenant_id, number))), '0000000000000000') AS user_id
    FROM numbers({count:UInt64})
);

-- name: dashboard_bench.attributes
-- Two registered attributes for half of the residents.
INSERT INTO resident_attributes
SELECT tenant_id, user_id, item,
       [if(item = 'gender', ['female', 'male', 'other'][1 + cityHash64(user_id) % 3], concat('age', toString(20 + 10 * (cityHash64(user_id, 1) % 6))))],
       now64(3), 1, 0
FROM resident_states
ARRAY JOIN ['gender', 'age_band'] AS item
WHERE cityHash64(user_id, 2) % 2 = 0;

-- name: dashboard_bench.raw_overview
-- The overview's webhook figures computed from the raw events instead of the rollup.
SELECT tenant_id, toString(toStartOfMonth(day)) AS month,
       countIf(type = 'follow' AND is_unblocked = 0) AS follows,
       countIf(type = 'follow' AND is_unblocked = 1) AS unblocks,
       countIf(type = 'unfollow') AS unfollows
FROM raw_webhook_events FINAL
WHERE tenant_id IN {tenants:Array(String)} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY tenant_id, month
ORDER BY tenant_id, month;

-- name: dashboard_bench.raw_municipality
-- A municipality's days computed from the raw events instead of the rollup.
SELECT toString(day) AS day_iso,
       countIf(type = 'follow' AND is_unblocked = 0) AS follows,
       countIf(type = 'follow' AND is_unblocked = 1) AS unblocks,
       countIf(type = 'unfollow') AS unfollows
FROM raw_webhook_events FINAL
WHERE tenant_id = {tenant:String} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY day
ORDER BY day;

-- name: dashboard_bench.mileage_programmes
-- One health-mileage programme per tenant for fiscal year {fy} (goal 100 pt).
INSERT INTO mileage_programmes (tenant_id, programme_id, fiscal_year, name, description, starts_on, ends_on,
                                goal_points, card_valid_months, created_by, created_at, updated_by, updated_at,
                                version, is_deleted)
SELECT t, concat('bench-', t), {fy:UInt16}, concat(t, ' 健康マイレージ'), '',
       toDate({start:String}), addDays(addYears(toDate({start:String}), 1), -1), 100, 12,
       'bench', now64(3), 'bench', now64(3), 1, 0
FROM (SELECT arrayJoin({tenants:Array(String)}) AS t);

-- name: dashboard_bench.mileage_activities
INSERT INTO mileage_activities (tenant_id, programme_id, activity_id, name, points, method, self_report_label,
                                daily_cap, period_cap, sort, retired, updated_by, updated_at, version, is_deleted)
SELECT t, concat('bench-', t), a.1, a.2, a.3, a.4, '', 0, 0, a.3, 0, 'bench', now64(3), 1, 0
FROM (SELECT arrayJoin({tenants:Array(String)}) AS t)
ARRAY JOIN [('walk', 'ウォーキング 30 分', 5, 'self_report'), ('class', '健康教室への参加', 20, 'qr'),
            ('check', '健康診断の受診', 50, 'grant')] AS a;

-- name: dashboard_bench.mileage_ledger
-- Entries {offset} … {offset}+{count}: participant intDiv(number, 20) of a tenant picked like the
-- residents, 20 entries each on days of the year so far (walks, classes every 5th, a check-up every 10th).
INSERT INTO mileage_ledger (tenant_id, programme_id, user_id, entry_id, activity_id, kind, points, activity_on,
                            source_id, corrects, reason, actor, recorded_at)
SELECT tenant_id, concat('bench-', tenant_id), user_id, concat('bench:', toString(number)),
       multiIf(e % 10 = 0, 'check', e % 5 = 0, 'class', 'walk') AS activity,
       multiIf(activity = 'check', 'grant', activity = 'class', 'scan', 'self_report'),
       multiIf(activity = 'check', 50, activity = 'class', 20, 5),
       addDays(toDate({start:String}), cityHash64(number, 3) % {days:UInt32}) AS day,
       '', '', '', 'resident', toDateTime64(day, 3, 'UTC') + toIntervalHour(3)
FROM
(
    SELECT number, intDiv(number, 20) AS p, number % 20 AS e,
           {tenants:Array(String)}[arrayFirstIndex(w -> cityHash64(p, 8) % 1000000 / 1000000.0 < w, {weights:Array(Float64)})] AS tenant_id,
           concat('U', lower(hex(cityHash64(tenant_id, p))), '0000000000000000') AS user_id
    FROM numbers({offset:UInt64}, {count:UInt64})
    -- fewer entries for most participants: activity falls off
    WHERE e < 2 + cityHash64(p, 5) % 19
);

-- name: dashboard_bench.mileage_cards
-- A card for every participant at the goal.
INSERT INTO mileage_cards (tenant_id, programme_id, user_id, card_no, design_id, issued_at, valid_until, version)
SELECT tenant_id, programme_id, user_id, user_id, '', max(last_at), addDays(addMonths(toDate(max(last_at)), 12), -1), 1
FROM mileage_balances
WHERE programme_id LIKE 'bench-%'
GROUP BY tenant_id, programme_id, user_id
HAVING sum(points) >= 100;
