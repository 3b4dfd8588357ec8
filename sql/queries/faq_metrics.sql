-- Named queries of metrics/faq.ts: the FAQ chatbot's figures from faq/'s tables (sql/migrations/0060_faq.sql),
-- for the FAQ's statistics pages and API and the monthly KPI report. Periods are [from, to) in UTC.
-- Node '_ai' is an AI answer (its views and はい/いいえ); '_top' is the context of a typed question
-- asked from the top (no node viewed before), '' a typed question of unknown context (recorded before
-- the context was kept).

-- name: faq_metrics.node_counts
-- Per node of one tenant: views, はい, いいえ, and the typed questions that matched nothing after it
-- (unmatched), went to the polite fallback (fallback) or were answered by the AI (ai).
SELECT node_id, countIf(kind = 'view') AS views, countIf(kind = 'resolved') AS yes,
       countIf(kind = 'unresolved') AS no, countIf(kind = 'unmatched') AS unmatched,
       countIf(kind = 'fallback') AS fallback, countIf(kind = 'ai') AS ai
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY node_id ORDER BY node_id;

-- name: faq_metrics.kind_totals
-- Events per kind of one tenant.
SELECT kind, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY kind ORDER BY kind;

-- name: faq_metrics.daily_views
-- Node views (AI answers included) per Tokyo day of one tenant.
SELECT toString(toDate(at, 'Asia/Tokyo')) AS day, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND kind = 'view' AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY day ORDER BY day;

-- name: faq_metrics.node_daily_views
-- Views per Tokyo day and node of one tenant.
SELECT toString(toDate(at, 'Asia/Tokyo')) AS day, node_id, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND kind = 'view' AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY day, node_id ORDER BY day, node_id;

-- name: faq_metrics.monthly_top
-- Views per Tokyo month and node of one tenant, most viewed first within a month.
SELECT toString(toStartOfMonth(at, 'Asia/Tokyo')) AS month, node_id, count() AS n
FROM faq_events FINAL
WHERE tenant_id = {tenant:String} AND kind = 'view' AND node_id != '_ai'
  AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY month, node_id ORDER BY month DESC, n DESC, node_id;

-- name: faq_metrics.tenant_totals
-- Each tenant's totals: views, はい and いいえ of the scenario's nodes (AI answers apart: ai, ai_yes,
-- ai_no), typed questions that matched nothing, went to the fallback, or got candidates.
SELECT tenant_id,
       countIf(kind = 'view' AND node_id != '_ai') AS views,
       countIf(kind = 'resolved' AND node_id != '_ai') AS yes,
       countIf(kind = 'unresolved' AND node_id != '_ai') AS no,
       countIf(kind = 'unmatched') AS unmatched,
       countIf(kind = 'fallback') AS fallback,
       countIf(kind = 'candidates') AS candidates,
       countIf(kind = 'ai') AS ai,
       countIf(kind = 'resolved' AND node_id = '_ai') AS ai_yes,
       countIf(kind = 'unresolved' AND node_id = '_ai') AS ai_no
FROM faq_events FINAL
WHERE tenant_id IN {tenants:Array(String)} AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY tenant_id ORDER BY tenant_id;

-- name: faq_metrics.top_nodes
-- The most viewed nodes of each tenant (up to {n} a tenant) with their はい and いいえ.
SELECT tenant_id, node_id, countIf(kind = 'view') AS views, countIf(kind = 'resolved') AS yes,
       countIf(kind = 'unresolved') AS no
FROM faq_events FINAL
WHERE tenant_id IN {tenants:Array(String)} AND node_id NOT IN ('', '_ai', '_top')
  AND kind IN ('view', 'resolved', 'unresolved')
  AND at >= {from:DateTime64(3)} AND at < {to:DateTime64(3)}
GROUP BY tenant_id, node_id
HAVING views > 0
ORDER BY tenant_id, views DESC, node_id
LIMIT {n:UInt32} BY tenant_id;

-- name: faq_metrics.live_scenarios
-- The live scenario (its number and nodes as JSON) of each tenant that published one.
SELECT l.tenant_id AS tenant_id, l.number AS number, v.nodes AS nodes
FROM (SELECT tenant_id, number FROM faq_live FINAL WHERE tenant_id IN {tenants:Array(String)}) AS l
INNER JOIN (SELECT tenant_id, number, nodes FROM faq_versions FINAL WHERE tenant_id IN {tenants:Array(String)}) AS v
  ON v.tenant_id = l.tenant_id AND v.number = l.number
ORDER BY tenant_id;
