-- One row per participant and fiscal year (April–March, Tokyo) with twelve monthly sums as arrays
-- (April first), so the figures that follow each participant's cumulative points month by month
-- (participants, new, at the goal) read one merged row per participant instead of one per month.
-- Owned by metrics/ (sql/queries/mileage_metrics.sql, members_per_month); replaces the reads of
-- mileage_member_months (0048), which stays as it is. Backfilled from the ledger while empty (at
-- start-up, before anything writes to the ledger), then kept by its view.

CREATE TABLE IF NOT EXISTS mileage_member_years
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    user_id            String,
    fiscal_year        UInt16,
    points             AggregateFunction(sumForEach, Array(Int64)),     -- points per month, April first
    awards             AggregateFunction(sumForEach, Array(UInt64)),    -- entries with points > 0 per month
    entries            AggregateFunction(sumForEach, Array(UInt64))     -- entries per month (corrections too)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, programme_id, fiscal_year, user_id);

INSERT INTO mileage_member_years
SELECT tenant_id, programme_id, user_id, fy, sumForEachState(p), sumForEachState(a), sumForEachState(e)
FROM
(
    SELECT tenant_id, programme_id, user_id,
           toUInt16(toYear(activity_on) - (toMonth(activity_on) < 4)) AS fy,
           (toMonth(activity_on) + 8) % 12 AS m,
           arrayMap(i -> if(i = m, toInt64(points), toInt64(0)), range(12)) AS p,
           arrayMap(i -> toUInt64(i = m AND points > 0), range(12)) AS a,
           arrayMap(i -> toUInt64(i = m), range(12)) AS e
    FROM mileage_ledger
    WHERE (SELECT count() FROM mileage_member_years) = 0
)
GROUP BY tenant_id, programme_id, user_id, fy;

CREATE MATERIALIZED VIEW IF NOT EXISTS mileage_member_years_mv TO mileage_member_years AS
SELECT tenant_id, programme_id, user_id, fiscal_year,
       sumForEachState(p) AS points, sumForEachState(a) AS awards, sumForEachState(e) AS entries
FROM
(
    SELECT tenant_id, programme_id, user_id,
           toUInt16(toYear(activity_on) - (toMonth(activity_on) < 4)) AS fiscal_year,
           (toMonth(activity_on) + 8) % 12 AS m,
           arrayMap(i -> if(i = m, toInt64(points), toInt64(0)), range(12)) AS p,
           arrayMap(i -> toUInt64(i = m AND points > 0), range(12)) AS a,
           arrayMap(i -> toUInt64(i = m), range(12)) AS e
    FROM mileage_ledger
)
GROUP BY tenant_id, programme_id, user_id, fiscal_year;
