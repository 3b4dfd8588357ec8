-- The deliveries LINE's statistics are tracked for, sent in a period, each with the latest 'ready'
-- statistics LINE gave (one place for the join that the dashboard's and the findings' queries read).
-- A parameterized view: tenants and the period [from, to) (UTC) are given where it is read, e.g.
--   FROM insight_tracked_stats(tenants = {tenants:Array(String)}, from = {from:DateTime64(3)}, to = {to:DateTime64(3)})
-- Without statistics (join_use_nulls = 0, the readers' setting): has_stats 0, the figures NULL.
CREATE VIEW IF NOT EXISTS insight_tracked_stats AS
SELECT t.tenant_id AS tenant_id, t.kind AS kind, t.key AS key, t.sent_at AS sent_at,
       s.has_stats AS has_stats,
       tupleElement(s.f, 1) AS delivered, tupleElement(s.f, 2) AS unique_impression, tupleElement(s.f, 3) AS unique_click
FROM
(
    SELECT tenant_id, kind, key, sent_at
    FROM insight_tracked_deliveries FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND sent_at >= {from:DateTime64(3)} AND sent_at < {to:DateTime64(3)}
) AS t
LEFT JOIN
(
    SELECT tenant_id, kind, key, toUInt8(1) AS has_stats,
           argMax(tuple(delivered, unique_impression, unique_click), fetched_at) AS f
    FROM insight_message_stats
    WHERE tenant_id IN {tenants:Array(String)} AND status = 'ready'
      AND sent_at >= {from:DateTime64(3)} AND sent_at < {to:DateTime64(3)}
    GROUP BY tenant_id, kind, key
) AS s
ON t.tenant_id = s.tenant_id AND t.kind = s.kind AND t.key = s.key;
