-- Named queries of ops/ (records, the self-check, backups, the export).

-- name: ops.record_get
SELECT record_id, record_no, record, version FROM ops_records FINAL
WHERE kind = {kind:String} AND record_id = {id:String};

-- name: ops.record_list
SELECT record_id, record_no, record, version FROM ops_records FINAL
WHERE kind = {kind:String}
ORDER BY record_no, record_id
LIMIT {limit:UInt32};

-- name: ops.record_max_no
-- The highest No. ever given to a kind, deleted records included (a No. is never given twice).
SELECT max(record_no) AS n FROM ops_records WHERE kind = {kind:String};

-- name: ops.record_history
SELECT version, action, changed_by, toUnixTimestamp64Milli(changed_at) AS changed_ms, changes, note, record
FROM ops_records_history
WHERE kind = {kind:String} AND record_id = {id:String}
ORDER BY version;

-- name: ops.check_minutes
-- Each minute of [from, to) with a check, and whether one of its checks found the suite up.
SELECT toUnixTimestamp(toStartOfMinute(checked_at)) AS minute, max(up) AS up
FROM ops_checks
WHERE checked_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND checked_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
GROUP BY minute
ORDER BY minute;

-- name: ops.first_check
SELECT toUnixTimestamp64Milli(min(checked_at)) AS first_ms, count() AS n FROM ops_checks;

-- name: ops.backups_recent
SELECT backup_id, toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(finished_at) AS finished_ms,
       ok, bytes, error, made_by
FROM ops_backups
ORDER BY started_at DESC
LIMIT {limit:UInt32};

-- name: ops.tables
-- The tables of record in the current database (views are made again by the migrations).
SELECT name, engine FROM system.tables
WHERE database = currentDatabase() AND engine NOT IN ('MaterializedView', 'View') AND NOT is_temporary
ORDER BY name;

-- name: ops.views
SELECT name, create_table_query FROM system.tables
WHERE database = currentDatabase() AND engine = 'MaterializedView'
ORDER BY name;

-- name: ops.columns
SELECT table, name, type, comment FROM system.columns
WHERE database = currentDatabase() AND table IN {tables:Array(String)}
ORDER BY table, position;

-- name: ops.insight_lag
-- Seconds since the Insight pollers last stored a day's followers (any tenant); NULL before the first.
SELECT if(count() = 0, NULL, dateDiff('second', max(fetched_at), now64(3, 'UTC'))) AS lag_s FROM insight_followers_daily;
