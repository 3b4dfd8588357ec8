-- Named queries of faq/ (the scenario, settings, events). Tables: sql/migrations/0060_faq.sql.

-- name: faq.draft
SELECT nodes, updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM faq_drafts FINAL WHERE tenant_id = {tenant:String};

-- name: faq.versions
-- Published versions, newest first (without their nodes).
SELECT number, note, published_by, toUnixTimestamp64Milli(published_at) AS published_ms,
       JSONLength(nodes) AS node_count
FROM faq_versions FINAL WHERE tenant_id = {tenant:String}
ORDER BY number DESC;

-- name: faq.version_nodes
SELECT nodes FROM faq_versions FINAL WHERE tenant_id = {tenant:String} AND number = {number:UInt32};

-- name: faq.live
SELECT number, changed_by, toUnixTimestamp64Milli(changed_at) AS changed_ms
FROM faq_live FINAL WHERE tenant_id = {tenant:String};

-- name: faq.settings
SELECT accept_typed, ai_endpoint, ai_timeout_ms, keep_unmatched, retention_days, contact, updated_by,
       toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM faq_settings FINAL WHERE tenant_id = {tenant:String};

-- name: faq.node_stats
-- Per node in [from, to): views, はい and いいえ.
SELECT node_id, countIf(kind = 'view') AS views, countIf(kind = 'resolved') AS yes,
       countIf(kind = 'unresolved') AS no
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY node_id ORDER BY node_id;

-- name: faq.kind_totals
-- Events per kind in [from, to).
SELECT kind, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY kind ORDER BY kind;

-- name: faq.daily_views
-- Node views per Tokyo day in [from, to).
SELECT toString(toDate(at, 'Asia/Tokyo')) AS day, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND kind = 'view' AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY day ORDER BY day;

-- name: faq.monthly_top
-- Views per Tokyo month and node in [from, to), most viewed first within a month.
SELECT toString(toStartOfMonth(at, 'Asia/Tokyo')) AS month, node_id, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND kind = 'view' AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY month, node_id ORDER BY month DESC, n DESC, node_id;

-- name: faq.tenant_totals
-- Every tenant's views, はい, いいえ and unmatched questions in [from, to) (the prefecture-wide table).
SELECT tenant_id, countIf(kind = 'view') AS views, countIf(kind = 'resolved') AS yes,
       countIf(kind = 'unresolved') AS no, countIf(kind = 'unmatched') AS unmatched
FROM faq_events FINAL
WHERE at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY tenant_id ORDER BY tenant_id;

-- name: faq.unmatched
-- Kept unmatched questions not yet expired, newest first.
SELECT toUnixTimestamp64Milli(at) AS at_ms, text
FROM faq_unmatched FINAL
WHERE tenant_id = {tenant:String} AND expires_at > now()
ORDER BY at DESC LIMIT {limit:UInt32};
