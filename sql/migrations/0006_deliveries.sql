-- Deliveries and their per-batch outcomes (owned by delivery/).

-- One delivery: what, to whom, when, and how it went. Every change (scheduled, queued, sending,
-- done …) appends a new version; readers use FINAL. Live counts while sending are in Redis; the
-- final counts land here when the delivery finishes.
CREATE TABLE IF NOT EXISTS deliveries
(
    tenant_id              String,
    delivery_id            String,
    kind                   LowCardinality(String),   -- normal | test
    title                  String,
    messages               String,                   -- JSON, LINE message objects as sent
    audience               String,                   -- JSON, the audience definition
    audience_label         String,                   -- what a person reads (すべての友だち, セグメント …)
    notification_disabled  UInt8,
    aggregation_unit       String,                   -- customAggregationUnits name
    status                 LowCardinality(String),   -- draft | scheduled | queued | sending | done | failed | cancelled
    scheduled_at           Nullable(DateTime64(3, 'UTC')),
    started_at             Nullable(DateTime64(3, 'UTC')),
    finished_at            Nullable(DateTime64(3, 'UTC')),
    targets                UInt32,
    batches                UInt32,
    accepted               UInt32,
    failed                 UInt32,
    error                  String,
    created_at             DateTime64(3, 'UTC'),
    updated_at             DateTime64(3, 'UTC'),
    version                UInt64,
    is_deleted             UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, delivery_id);

-- The outcome of each multicast batch, appended once the batch is settled (accepted or failed).
-- A batch settled again after a crash (its retry answered 409) appends the same outcome again;
-- the sorting key folds such rows into one (readers use FINAL).
CREATE TABLE IF NOT EXISTS delivery_batches
(
    tenant_id    LowCardinality(String),
    delivery_id  String,
    batch_no     UInt32,
    recipients   UInt32,
    status       LowCardinality(String),          -- accepted | failed
    http_status  UInt16,                          -- LINE's last answer (409 counts as accepted)
    request_id   String,                          -- x-line-request-id (or the accepted one on 409)
    retry_key    String,
    attempts     UInt16,
    reason       String,                          -- LINE's reason when failed
    settled_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(settled_at)
ORDER BY (tenant_id, delivery_id, batch_no);
