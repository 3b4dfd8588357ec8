-- Named queries of faq/ (the scenario, settings, kept unmatched questions). Tables: sql/migrations/0060_faq.sql.
-- The statistics (views, はい／いいえ, per day, per tenant) are metrics' own: sql/queries/faq_metrics.sql.

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

-- name: faq.unmatched
-- Kept unmatched questions not yet expired, newest first.
SELECT toUnixTimestamp64Milli(at) AS at_ms, text
FROM faq_unmatched FINAL
WHERE tenant_id = {tenant:String} AND expires_at > now()
ORDER BY at DESC LIMIT {limit:UInt32};
