-- Records of ops/ (owned by ops/): 障害報告書 (incident), 対応履歴 (support), 運用課題 (issue) and
-- planned stops (stop). Every change is appended to ops_records_history with what changed, field by
-- field; the current state of each record follows from it through a materialized view (one INSERT
-- writes both). `record` is the record after the change (JSON, Tokyo ISO timestamps).

CREATE TABLE IF NOT EXISTS ops_records_history
(
    kind          LowCardinality(String),          -- incident | support | issue | stop
    record_id     String,                          -- UUID
    version       UInt64,
    action        LowCardinality(String),          -- created | updated | deleted
    changed_by    String,
    changed_at    DateTime64(3, 'UTC'),
    changes       String,                          -- JSON [{field, label, from, to}]
    note          String,
    record        String                           -- JSON, the record after the change
)
ENGINE = MergeTree
ORDER BY (kind, record_id, version);

CREATE TABLE IF NOT EXISTS ops_records
(
    kind          LowCardinality(String),
    record_id     String,
    record_no     UInt32,                          -- No. shown in the log, per kind (1, 2, 3 …)
    record        String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (kind, record_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ops_records_from_history TO ops_records AS
SELECT
    kind,
    record_id,
    toUInt32(JSONExtractUInt(record, 'no'))       AS record_no,
    record,
    changed_at                                     AS updated_at,
    version,
    toUInt8(action = 'deleted')                    AS is_deleted
FROM ops_records_history;
