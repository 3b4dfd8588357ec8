-- Records the contractor keeps for the prefecture (owned by reports/): meeting minutes (議事録) and
-- the issue log (課題管理表). The current state of each record is a ReplacingMergeTree row (readers
-- use FINAL); every change is also appended to a history table that is never updated, so the log
-- can show how an entry came to be.

CREATE TABLE IF NOT EXISTS report_minutes
(
    minutes_id    String,                          -- UUID
    held_at       DateTime64(3, 'UTC'),            -- start of the meeting
    ended_at      Nullable(DateTime64(3, 'UTC')),
    kind          LowCardinality(String),          -- 定例会 | 個別検討会議 | 研修 | その他
    title         String,
    place         String,                          -- 会場 or web会議
    tenant_ids    Array(String),                   -- tenants concerned (local-government codes)
    attendees     String,                          -- JSON [{organization, name}]
    agenda        Array(String),
    discussion    String,
    decisions     Array(String),
    action_items  String,                          -- JSON [{task, owner, due}]
    status        LowCardinality(String),          -- draft | approved
    approved_by   String,
    approved_at   Nullable(DateTime64(3, 'UTC')),
    created_by    String,
    created_at    DateTime64(3, 'UTC'),
    updated_by    String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY minutes_id;

-- Every version of every minutes record, as written (append only).
CREATE TABLE IF NOT EXISTS report_minutes_history
(
    minutes_id    String,
    version       UInt64,
    action        LowCardinality(String),          -- created | updated | approved | reopened | deleted
    changed_by    String,
    changed_at    DateTime64(3, 'UTC'),
    record        String                           -- JSON, the record after the change
)
ENGINE = MergeTree
ORDER BY (minutes_id, version);

CREATE TABLE IF NOT EXISTS report_issues
(
    issue_id      String,                          -- UUID
    issue_no      UInt32,                          -- No. shown in the log (1, 2, 3 …)
    tenant_id     String,                          -- the tenant concerned (24000 = prefecture-wide)
    raised_on     Date,
    category      String,
    description   String,
    response      String,                          -- 対応内容
    owner         String,                          -- 担当
    status        LowCardinality(String),          -- 未着手 | 対応中 | 完了
    due_on        Nullable(Date),
    resolved_on   Nullable(Date),
    created_by    String,
    created_at    DateTime64(3, 'UTC'),
    updated_by    String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY issue_id;

-- Every version of every issue-log entry, with what changed (append only).
CREATE TABLE IF NOT EXISTS report_issues_history
(
    issue_id      String,
    version       UInt64,
    action        LowCardinality(String),          -- created | updated | deleted
    changed_by    String,
    changed_at    DateTime64(3, 'UTC'),
    changes       String,                          -- JSON [{field, from, to}]
    note          String,                          -- why, as the person wrote it
    record        String                           -- JSON, the entry after the change
)
ENGINE = MergeTree
ORDER BY (issue_id, version);
