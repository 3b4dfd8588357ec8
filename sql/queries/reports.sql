-- Named queries of reports/ (minutes and the issue log).

-- name: reports.minutes_get
SELECT minutes_id, toUnixTimestamp64Milli(held_at) AS held_ms, toUnixTimestamp64Milli(ended_at) AS ended_ms, kind, title, place,
       tenant_ids, attendees, agenda, discussion, decisions, action_items, status, approved_by,
       toUnixTimestamp64Milli(approved_at) AS approved_ms, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM report_minutes FINAL
WHERE minutes_id = {id:String};

-- name: reports.minutes_list
-- Minutes held in [from, to) (UTC instants), optionally of one tenant ('' = any) and status ('' = any), oldest first.
SELECT minutes_id, toUnixTimestamp64Milli(held_at) AS held_ms, toUnixTimestamp64Milli(ended_at) AS ended_ms, kind, title, place,
       tenant_ids, attendees, agenda, discussion, decisions, action_items, status, approved_by,
       toUnixTimestamp64Milli(approved_at) AS approved_ms, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM report_minutes FINAL
WHERE held_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND held_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
  AND ({tenant:String} = '' OR has(tenant_ids, {tenant:String}))
  AND ({status:String} = '' OR status = {status:String})
ORDER BY held_at, minutes_id
LIMIT {limit:UInt32};

-- name: reports.minutes_history
SELECT version, action, changed_by, toUnixTimestamp64Milli(changed_at) AS changed_ms, record
FROM report_minutes_history
WHERE minutes_id = {id:String}
ORDER BY version;

-- name: reports.issue_get
SELECT issue_id, issue_no, tenant_id, toString(raised_on) AS raised_day, category, description, response, owner, status,
       toString(due_on) AS due_day, toString(resolved_on) AS resolved_day, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM report_issues FINAL
WHERE issue_id = {id:String};

-- name: reports.issue_list
-- The log, by No.: optionally one tenant ('' = any), one status ('' = any), raised on or before a day
-- and still open on or after another (the month's log: raised by its end, not resolved before its start).
SELECT issue_id, issue_no, tenant_id, toString(raised_on) AS raised_day, category, description, response, owner, status,
       toString(due_on) AS due_day, toString(resolved_on) AS resolved_day, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM report_issues FINAL
WHERE ({tenant:String} = '' OR tenant_id = {tenant:String})
  AND ({status:String} = '' OR status = {status:String})
  AND raised_on <= toDate({raisedBy:String})
  AND (resolved_on IS NULL OR resolved_on >= toDate({openFrom:String}))
ORDER BY issue_no, issue_id
LIMIT {limit:UInt32};

-- name: reports.issue_max_no
-- The highest No. ever given, deleted entries included (a No. is never given twice).
SELECT max(issue_no) AS n FROM report_issues;

-- name: reports.issue_history
SELECT version, action, changed_by, toUnixTimestamp64Milli(changed_at) AS changed_ms, changes, note, record
FROM report_issues_history
WHERE issue_id = {id:String}
ORDER BY version;

-- name: reports.tenants_known
SELECT tenant_id FROM tenants FINAL WHERE tenant_id IN {ids:Array(String)};
