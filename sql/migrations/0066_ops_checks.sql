-- The self-check's results (owned by ops/): one row per check, every minute by default. The monthly
-- availability is read from them (a minute is up when a check in it found the suite ready).

CREATE TABLE IF NOT EXISTS ops_checks
(
    checked_at    DateTime64(3, 'UTC'),
    up            UInt8,                           -- readiness answered ok or degraded
    problems      String                           -- JSON [{key, message}]
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(checked_at)
ORDER BY checked_at;

-- Backups made by the suite or the CLI (owned by ops/): the dashboard and /metrics show the last one.
CREATE TABLE IF NOT EXISTS ops_backups
(
    backup_id     String,                          -- directory name, e.g. 20261206T030000Z
    started_at    DateTime64(3, 'UTC'),
    finished_at   DateTime64(3, 'UTC'),
    ok            UInt8,
    bytes         UInt64,
    error         String,
    made_by       String
)
ENGINE = MergeTree
ORDER BY started_at;
