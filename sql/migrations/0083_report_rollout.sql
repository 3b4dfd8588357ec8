-- The rollout board (業務工程表, owned by reports/): per municipality and step, the planned date and,
-- where Tayori has no record of its own, the actual date the contractor entered. Every change is
-- appended to the history (never updated); the current row follows from it through the view, in the
-- same INSERT. Steps Tayori records itself (credentials, rich menu, mileage programme, first
-- delivery) are read from their owners' tables by sql/queries/rollout.sql.

CREATE TABLE IF NOT EXISTS report_rollout_history
(
    tenant_id    String,
    step         LowCardinality(String),          -- account_opened | credentials | rich_menu | mileage | staff_trained | launched
    version      UInt64,
    action       LowCardinality(String),          -- created | updated
    planned_on   Nullable(Date),
    actual_on    Nullable(Date),
    note         String,
    changes      String,                          -- JSON [{field, from, to}]
    changed_by   String,
    changed_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (tenant_id, step, version);

CREATE TABLE IF NOT EXISTS report_rollout_steps
(
    tenant_id    String,
    step         LowCardinality(String),
    planned_on   Nullable(Date),
    actual_on    Nullable(Date),
    note         String,
    updated_by   String,
    updated_at   DateTime64(3, 'UTC'),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, step);

CREATE MATERIALIZED VIEW IF NOT EXISTS report_rollout_steps_from_history TO report_rollout_steps AS
SELECT tenant_id, step, planned_on, actual_on, note, changed_by AS updated_by, changed_at AS updated_at, version
FROM report_rollout_history;
