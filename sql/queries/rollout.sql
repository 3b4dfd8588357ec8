-- Named queries of the rollout board (reports/rollout.ts).

-- name: rollout.entered
-- The steps' planned and entered dates of these tenants (current state).
SELECT tenant_id, toString(step) AS step, toString(planned_on) AS planned_day, toString(actual_on) AS actual_day,
       note, updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM report_rollout_steps FINAL
WHERE tenant_id IN {tenants:Array(String)};

-- name: rollout.history
-- Every change of one tenant's steps, oldest first.
SELECT toString(step) AS step, version, toString(action) AS action, toString(planned_on) AS planned_day,
       toString(actual_on) AS actual_day, note, changes, changed_by, toUnixTimestamp64Milli(changed_at) AS changed_ms
FROM report_rollout_history
WHERE tenant_id = {tenant:String}
ORDER BY step, version;

-- name: rollout.records
-- The Tayori days (Asia/Tokyo) of the steps it records itself, per tenant ('' when none): channel
-- credentials first stored (the earliest version kept of the tenant with a token), rich menu first
-- applied or published, a mileage programme first set up, first delivery sent (not a test).
SELECT t.tenant_id AS tenant_id,
       ifNull(c.first_day, '') AS credentials_day,
       ifNull(r.first_day, '') AS rich_menu_day,
       ifNull(m.first_day, '') AS mileage_day,
       ifNull(d.first_day, '') AS delivery_day
FROM (SELECT DISTINCT tenant_id FROM tenants WHERE tenant_id IN {tenants:Array(String)}) AS t
LEFT JOIN (
    SELECT tenant_id, toString(toDate(min(updated_at), 'Asia/Tokyo')) AS first_day
    FROM tenants
    WHERE tenant_id IN {tenants:Array(String)} AND channel_access_token_enc != ''
    GROUP BY tenant_id
) AS c ON c.tenant_id = t.tenant_id
LEFT JOIN (
    -- applied as the one default menu (delivery_rich_menus) or published from the editor
    SELECT tenant_id, toString(toDate(min(at), 'Asia/Tokyo')) AS first_day
    FROM (
        SELECT tenant_id, applied_at AS at
        FROM delivery_rich_menus
        WHERE tenant_id IN {tenants:Array(String)}
        UNION ALL
        SELECT toString(tenant_id) AS tenant_id, assumeNotNull(published_at) AS at
        FROM delivery_rich_menu_versions FINAL
        WHERE tenant_id IN {tenants:Array(String)} AND published_at IS NOT NULL
    )
    GROUP BY tenant_id
) AS r ON r.tenant_id = t.tenant_id
LEFT JOIN (
    SELECT toString(tenant_id) AS tenant_id, toString(toDate(min(created_at), 'Asia/Tokyo')) AS first_day
    FROM mileage_programmes FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND is_deleted = 0
    GROUP BY tenant_id
) AS m ON m.tenant_id = t.tenant_id
LEFT JOIN (
    SELECT tenant_id, toString(toDate(min(started_at), 'Asia/Tokyo')) AS first_day
    FROM deliveries FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND kind = 'normal' AND status = 'done' AND started_at IS NOT NULL
    GROUP BY tenant_id
) AS d ON d.tenant_id = t.tenant_id
SETTINGS join_use_nulls = 1;
