-- Generated report files (owned by reports/): one row per stored file version. The bytes live in
-- the reports directory (TAYORI_REPORTS_DIR); this row says where, and what their SHA-256 is, so a
-- download can prove the file is the one that was generated. Rows are written once, after every
-- file of a job is safely on disk, and never changed; a regenerated document is a new version.
-- ReplacingMergeTree only so that a job retried after a crash cannot list a file twice.

CREATE TABLE IF NOT EXISTS report_files
(
    file_id       String,                          -- UUID
    scope         LowCardinality(String),          -- monthly | final
    period        String,                          -- 'YYYY-MM' (monthly) or 'YYYY-MM_YYYY-MM' (final, from_to)
    kind          LowCardinality(String),          -- minutes-docx | issues-xlsx | kpi-xlsx | kpi-docx | kpi-pdf | final-docx | final-xlsx
    version       UInt32,                          -- 1, 2, 3 … per (scope, period, kind)
    title         String,
    file_name     String,                          -- as the person downloading sees it (Japanese)
    mime          String,
    size          UInt64,
    sha256        String,                          -- hex
    path          String,                          -- relative to the reports directory
    due_on        Nullable(Date),                  -- monthly: the 10th of the next month or the next open day
    job_id        String,                          -- the job that produced it ('' = made directly by the CLI)
    created_by    String,
    created_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY file_id;
