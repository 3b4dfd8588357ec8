-- Named queries of delivery/ (audiences, deliveries, batches, test devices, residents' attributes).

-- name: delivery.audience_batches
-- A page of the audience (the user ids one of the two queries below gives, in the marker's place)
-- cut into multicast batches of {batch} ids: a line per batch, "<count>\t<"id","id",…>" — the JSON of its `to`, ready to
-- be written into a request (delivery/audience-batches.ts). A batch whose ids need no escape in JSON
-- (no quote, backslash or control character: LINE's ids are U + 32 hex) is joined with '","' between
-- quotes, one check and one join per batch (escaping each id costs twice the whole query); any other
-- batch goes through toJSONString id by id. The page is sorted again inside the array, so the batches
-- do not depend on the order rows arrive in; one thread costs less and leaves the other cores to the
-- requests already going out.
SELECT length(b) AS n,
       if(NOT multiSearchAny(arrayStringConcat(b, ','), ['\x00', '\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07', '\x08', '\x09', '\x0a', '\x0b', '\x0c', '\x0d', '\x0e', '\x0f', '\x10', '\x11', '\x12', '\x13', '\x14', '\x15', '\x16', '\x17', '\x18', '\x19', '\x1a', '\x1b', '\x1c', '\x1d', '\x1e', '\x1f', '"', '\\']),
          concat('"', arrayStringConcat(b, '","'), '"'),
          arrayStringConcat(arrayMap(u -> toJSONString(u), b), ',')) AS ids
FROM (
    SELECT arrayJoin(arraySplit((u, i) -> i % {batch:UInt32} = 1, page, arrayEnumerate(page))) AS b
    FROM (SELECT arraySort(groupArray(user_id)) AS page FROM ({{ids}}))
)
SETTINGS max_threads = 1;

-- name: delivery.audience_page
-- One page of friends after a cursor (keyset paging in user_id order: resumable after a crash).
SELECT user_id FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND user_id > {after:String}
ORDER BY user_id
LIMIT {limit:UInt32};

-- name: delivery.audience_window
-- How many friends the next window after a cursor holds (at most limit), and its last user id.
SELECT count() AS n, max(user_id) AS upto
FROM (
    SELECT user_id FROM resident_states FINAL
    WHERE tenant_id = {tenant:String} AND is_friend = 1 AND user_id > {after:String}
    ORDER BY user_id
    LIMIT {limit:UInt32}
);

-- name: delivery.audience_segment_range
-- Friends in (after, upto] whose latest attributes match the segment (the marker: a compiled
-- condition over user_id, delivery.segment_leaf for each of its conditions, compiled with the range).
SELECT user_id FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND user_id > {after:String} AND user_id <= {upto:String}
  AND ({{segment}});

-- name: delivery.audience_users_page
-- Residents named by a list of users (at most 500) who are friends now, after a cursor, in user_id
-- order; the others (blocked, or never friends) are left out and counted as skipped.
SELECT user_id FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND user_id > {after:String} AND user_id IN {ids:Array(String)}
ORDER BY user_id
LIMIT {limit:UInt32};

-- name: delivery.segment_leaf
-- One condition of a segment (delivery/audience.ts): the residents whose latest answer to the item
-- passes {{match}}, a test over its values; {{range}} narrows it to a range query's (after, upto].
-- One set per condition, combined with AND / OR / NOT over user_id: cheaper than gathering every
-- resident's answers into a map (2M friends, 600k who answered: ~0.3 s against ~0.7 s for one or
-- two conditions). A resident who never answered the item is in no set, so NOT takes them in.
-- FINAL keeps each (resident, item)'s latest row (item is in the sort key; deleted answers drop out).
user_id IN (
    SELECT user_id FROM resident_attributes FINAL
    WHERE tenant_id = {tenant:String} AND item = {{item}}{{range}} AND {{match}}
)

-- name: delivery.audience_count_all
SELECT count() AS n FROM resident_states FINAL WHERE tenant_id = {tenant:String} AND is_friend = 1;

-- name: delivery.audience_count_segment
-- (A condition's set of up to millions of ids is not worth turning into primary-key ranges: the
-- whole tenant is read anyway; ~30% faster at 2M.)
SELECT count() AS n FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND ({{segment}})
SETTINGS use_index_for_in_with_subqueries = 0;

-- name: delivery.audience_count_users
SELECT count() AS n FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND user_id IN {ids:Array(String)};

-- name: delivery.get
SELECT tenant_id, delivery_id, kind, title, messages, links, click_bucket, audience, audience_label, send_method, notification_disabled, aggregation_unit, request_id, status,
       toUnixTimestamp64Milli(scheduled_at) AS scheduled_ms, toUnixTimestamp64Milli(started_at) AS started_ms,
       toUnixTimestamp64Milli(finished_at) AS finished_ms, targets, skipped, batches, accepted, failed, error,
       toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM deliveries FINAL
WHERE tenant_id = {tenant:String} AND delivery_id = {id:String};

-- name: delivery.in_flight
-- Deliveries a restart must pick up again.
SELECT tenant_id, delivery_id, status FROM deliveries FINAL WHERE status IN ('queued', 'sending');

-- name: delivery.scheduled
SELECT tenant_id, delivery_id, toUnixTimestamp64Milli(scheduled_at) AS scheduled_ms FROM deliveries FINAL WHERE status = 'scheduled';

-- name: delivery.list
-- Deliveries of one tenant ('' = every tenant; scoped = 1: only those in {tenants}, the caller's
-- scope, applied before the LIMIT), newest first, with the latest Insight figures of
-- their aggregation unit, or of their request id for a broadcast (NULL until ingest fetched them).
SELECT d.tenant_id AS tenant_id, d.delivery_id AS delivery_id, d.kind AS kind, d.title AS title, d.audience_label AS audience_label,
       JSONExtractString(d.audience, 'type') AS audience_type,
       d.send_method AS send_method, d.status AS status, d.messages AS messages,
       toUnixTimestamp64Milli(coalesce(d.started_at, d.scheduled_at, d.created_at)) AS at_ms,
       toUnixTimestamp64Milli(d.scheduled_at) AS scheduled_ms,
       d.targets AS targets, d.skipped AS skipped, d.accepted AS accepted, d.failed AS failed,
       s.delivered AS delivered, s.unique_impression AS unique_impression, s.click AS clicks, s.unique_click AS unique_click
FROM (
    SELECT *,
           if(send_method = 'broadcast', 'request_id', 'aggregation_unit') AS stats_kind,
           if(send_method = 'broadcast', request_id, aggregation_unit) AS stats_key
    FROM deliveries FINAL
    WHERE ({tenant:String} = '' OR tenant_id = {tenant:String}) AND has({kinds:Array(String)}, toString(kind))
      AND ({scoped:UInt8} = 0 OR has({tenants:Array(String)}, tenant_id))
) AS d
LEFT JOIN (
    SELECT tenant_id, toString(kind) AS stats_kind, key,
           argMax(delivered, fetched_at) AS delivered, argMax(unique_impression, fetched_at) AS unique_impression,
           argMax(click, fetched_at) AS click, argMax(unique_click, fetched_at) AS unique_click
    FROM insight_message_stats
    WHERE status = 'ready'
    GROUP BY tenant_id, stats_kind, key
) AS s ON s.tenant_id = d.tenant_id AND s.stats_kind = d.stats_kind AND s.key = d.stats_key
ORDER BY at_ms DESC, delivery_id DESC
LIMIT {limit:UInt32};

-- name: delivery.batches
SELECT batch_no, recipients, status, http_status, request_id, retry_key, attempts, reason
FROM delivery_batches FINAL
WHERE tenant_id = {tenant:String} AND delivery_id = {id:String}
ORDER BY batch_no;

-- name: delivery.batch_totals
SELECT count() AS batches, countIf(status = 'accepted') AS accepted_batches,
       sumIf(recipients, status = 'accepted') AS accepted, sumIf(recipients, status = 'failed') AS failed
FROM delivery_batches FINAL
WHERE tenant_id = {tenant:String} AND delivery_id = {id:String};

-- name: delivery.test_devices
SELECT user_id, label FROM delivery_test_devices FINAL WHERE tenant_id = {tenant:String} ORDER BY user_id;

-- name: delivery.resident_attributes
SELECT toString(item) AS item, values, toUnixTimestamp64Milli(answered_at) AS answered_ms
FROM resident_attributes FINAL
WHERE tenant_id = {tenant:String} AND user_id = {user:String}
ORDER BY item;

-- name: delivery.residents_export_states
-- A page of a tenant's residents for the export (keyset paging in user_id order): friend or not, since when.
SELECT user_id, is_friend, toUnixTimestamp64Milli(changed_at) AS changed_ms
FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND user_id > {after:String} AND ({friends_only:UInt8} = 0 OR is_friend = 1)
ORDER BY user_id
LIMIT {limit:UInt32};

-- name: delivery.residents_export_answers
-- The latest answers of the residents in (after, upto], for the export.
SELECT user_id, toString(item) AS item, values, toUnixTimestamp64Milli(answered_at) AS answered_ms
FROM resident_attributes FINAL
WHERE tenant_id = {tenant:String} AND user_id > {after:String} AND user_id <= {upto:String}
ORDER BY user_id, item;

-- name: delivery.resident_state
SELECT is_friend FROM resident_states FINAL WHERE tenant_id = {tenant:String} AND user_id = {user:String};

-- name: delivery.categories
SELECT category_id, parent_id, name, sort, retired FROM delivery_categories FINAL
WHERE tenant_id = {tenant:String}
ORDER BY parent_id, sort, category_id;

-- name: delivery.attribute_items
SELECT item_id, label, multiple, options, sort, retired FROM delivery_attribute_items FINAL
WHERE tenant_id = {tenant:String}
ORDER BY sort, item_id;

-- name: delivery.link
SELECT tenant_id, delivery_id, link_no, bucket, url FROM delivery_links FINAL WHERE token = {token:String};

-- name: delivery.clicks
-- Clicks per link and audience bucket of one delivery.
SELECT l.link_no AS link_no, l.bucket AS bucket, any(l.url) AS url, countIf(c.delivery_id != '') AS clicks
FROM (SELECT * FROM delivery_links FINAL WHERE tenant_id = {tenant:String} AND delivery_id = {id:String}) AS l
LEFT JOIN (SELECT * FROM delivery_clicks WHERE tenant_id = {tenant:String} AND delivery_id = {id:String}) AS c
    ON c.link_no = l.link_no AND c.bucket = l.bucket
GROUP BY link_no, bucket
ORDER BY link_no, bucket;

-- name: delivery.bucket_attrs
-- The attribute a click bucket is cut by, for the residents of one audience range.
SELECT user_id, values FROM resident_attributes FINAL
WHERE tenant_id = {tenant:String} AND item = {item:String} AND user_id > {after:String} AND user_id <= {upto:String};

-- name: delivery.rich_menu
-- The rich menu Tayori last applied for a tenant.
SELECT rich_menu_id, news_url, contact_url, toUnixTimestamp64Milli(applied_at) AS applied_ms
FROM delivery_rich_menus FINAL
WHERE tenant_id = {tenant:String};

-- name: delivery.failed_since
-- Deliveries (not test sends) that ended failed, or done with batches LINE refused, changed since {since}.
SELECT count() AS n
FROM deliveries FINAL
WHERE kind = 'normal' AND updated_at >= {since:DateTime64(3)} AND (status = 'failed' OR (status = 'done' AND failed > 0));

-- name: delivery.named_audiences
-- A tenant's deliveries to named residents under one audience label (the cards' push to holders).
SELECT delivery_id FROM deliveries FINAL
WHERE tenant_id = {tenant:String}
  AND JSONExtractString(audience, 'type') = 'users'
  AND JSONExtractString(audience, 'label') = {label:String};

-- name: delivery.forget_named_audiences
-- Erasure: those deliveries' lists of user ids emptied in every stored version (a mutation rewrites
-- the old parts too); the label, the count in audience_label and the outcome stay. LINE's user ids
-- are U + 32 hex: the array holds no ']'.
ALTER TABLE deliveries
UPDATE audience = replaceRegexpOne(audience, '"userIds":\\[[^\\]]*\\]', '"userIds":[]')
WHERE tenant_id = {tenant:String} AND delivery_id IN {ids:Array(String)};
