-- Rollups of the mileage ledger for the figures (owned by metrics/): per participant and Tokyo month,
-- and per Tokyo day, activity and kind. The dashboard and the reports read these, never the ledger.
-- Like mileage_balances they sum what the ledger's writer stores once per entry_id.
-- (INSERT … SELECT fills columns by position.) Each table is backfilled from the ledger while it is still empty, then its view keeps it: run at
-- start-up, before anything writes to the ledger (a re-run after a failure backfills nothing twice).

CREATE TABLE IF NOT EXISTS mileage_member_months
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    user_id            String,
    month              Date,                                    -- first day of activity_on's month
    points             SimpleAggregateFunction(sum, Int64),
    awards             SimpleAggregateFunction(sum, UInt64),    -- entries with points > 0
    entries            SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, programme_id, user_id, month);

INSERT INTO mileage_member_months
SELECT tenant_id, programme_id, user_id, toStartOfMonth(activity_on) AS month,
       sum(toInt64(points)) AS sum_points, countIf(points > 0) AS sum_awards, count() AS sum_entries
FROM mileage_ledger
WHERE (SELECT count() FROM mileage_member_months) = 0
GROUP BY tenant_id, programme_id, user_id, month;

CREATE MATERIALIZED VIEW IF NOT EXISTS mileage_member_months_mv TO mileage_member_months AS
SELECT tenant_id, programme_id, user_id, toStartOfMonth(activity_on) AS month,
       toInt64(points) AS points, toUInt64(points > 0) AS awards, toUInt64(1) AS entries
FROM mileage_ledger;

CREATE TABLE IF NOT EXISTS mileage_points_per_day
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    day                Date,                                    -- activity_on (Tokyo)
    activity_id        String,                                  -- '' for a correction of several activities
    kind               LowCardinality(String),                  -- scan | self_report | grant | correction
    points             SimpleAggregateFunction(sum, Int64),
    awards             SimpleAggregateFunction(sum, UInt64),
    entries            SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, programme_id, day, activity_id, kind);

INSERT INTO mileage_points_per_day
SELECT tenant_id, programme_id, activity_on AS day, activity_id, kind,
       sum(toInt64(points)) AS sum_points, countIf(points > 0) AS sum_awards, count() AS sum_entries
FROM mileage_ledger
WHERE (SELECT count() FROM mileage_points_per_day) = 0
GROUP BY tenant_id, programme_id, day, activity_id, kind;

CREATE MATERIALIZED VIEW IF NOT EXISTS mileage_points_per_day_mv TO mileage_points_per_day AS
SELECT tenant_id, programme_id, activity_on AS day, activity_id, kind,
       toInt64(points) AS points, toUInt64(points > 0) AS awards, toUInt64(1) AS entries
FROM mileage_ledger;
