-- Named queries of reports/ (generated report files).

-- name: report_files.list
-- Newest first; optionally one period ('' = any) and kind ('' = any).
SELECT file_id, scope, period, kind, version, title, file_name, mime, size, sha256, path, toString(due_on) AS due_day,
       job_id, created_by, toUnixTimestamp64Milli(created_at) AS created_ms
FROM report_files FINAL
WHERE ({period:String} = '' OR period = {period:String})
  AND ({kind:String} = '' OR kind = {kind:String})
ORDER BY created_at DESC, period DESC, kind, version DESC
LIMIT {limit:UInt32};

-- name: report_files.get
SELECT file_id, scope, period, kind, version, title, file_name, mime, size, sha256, path, toString(due_on) AS due_day,
       job_id, created_by, toUnixTimestamp64Milli(created_at) AS created_ms
FROM report_files FINAL
WHERE file_id = {id:String};

-- name: report_files.of_job
-- The files a job stored (a job re-run after a crash finds them instead of storing them again).
SELECT file_id, scope, period, kind, version, title, file_name, mime, size, sha256, path, toString(due_on) AS due_day,
       job_id, created_by, toUnixTimestamp64Milli(created_at) AS created_ms
FROM report_files FINAL
WHERE job_id = {job:String}
ORDER BY kind, version;

-- name: report_files.max_versions
-- The highest version of each kind of one period.
SELECT kind, max(version) AS v
FROM report_files
WHERE scope = {scope:String} AND period = {period:String}
GROUP BY kind;

-- name: report_files.count_period
SELECT count() AS n FROM report_files FINAL WHERE scope = {scope:String} AND period = {period:String};
