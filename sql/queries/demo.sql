-- Named queries of the demo's seeding (cli/demo-*.ts).

-- name: demo.mileage_programmes
-- The tenants that already have a programme for the fiscal year (the demo's or one staff made).
SELECT DISTINCT tenant_id
FROM mileage_programmes FINAL
WHERE fiscal_year = {fy:UInt16} AND is_deleted = 0;

-- name: demo.mileage_seeded
-- Which of the demo's programmes already have rows in each table (a seed cut short is finished, never doubled).
SELECT 'ledger' AS tbl, programme_id FROM mileage_ledger WHERE programme_id IN {programmes:Array(String)} GROUP BY programme_id
UNION ALL
SELECT 'cards' AS tbl, programme_id FROM mileage_cards WHERE programme_id IN {programmes:Array(String)} GROUP BY programme_id
UNION ALL
SELECT 'activities' AS tbl, programme_id FROM mileage_activities WHERE programme_id IN {programmes:Array(String)} GROUP BY programme_id
UNION ALL
SELECT 'sessions' AS tbl, programme_id FROM mileage_sessions WHERE programme_id IN {programmes:Array(String)} GROUP BY programme_id;

-- name: demo.mileage_members
-- The tenants' member numbers given so far (the next serial follows the highest).
SELECT tenant_id, user_id, member_no
FROM mileage_members FINAL
WHERE tenant_id IN {tenants:Array(String)};

-- name: demo.deliveries_seeded
-- Which tenants already have the demo's deliveries (ids 'dh…') in each table (a seed cut short is finished, never doubled).
SELECT 'deliveries' AS tbl, tenant_id FROM deliveries WHERE startsWith(delivery_id, 'dh') GROUP BY tenant_id
UNION ALL
SELECT 'stats' AS tbl, tenant_id FROM insight_message_stats WHERE startsWith(key, 'tayori_dh') GROUP BY tenant_id
UNION ALL
SELECT 'clicks' AS tbl, toString(tenant_id) AS tenant_id FROM delivery_clicks WHERE startsWith(delivery_id, 'dh') GROUP BY tenant_id;

-- name: demo.followers_month
-- Tenants with LINE's friend figures stored for a day of the month (the KPI report's friend figures).
SELECT DISTINCT tenant_id
FROM insight_followers_daily FINAL
WHERE day >= {from:Date} AND day <= {to:Date} AND status = 'ready' AND followers IS NOT NULL;
