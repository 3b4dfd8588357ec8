-- Who did what, when: sign-ins, failed sign-ins, sign-outs, exports, sends, account changes.
-- Append only; never updated or deleted by the application.
CREATE TABLE IF NOT EXISTS audit_log
(
    at            DateTime64(3, 'UTC'),
    event_id      String,                       -- UUID
    action        LowCardinality(String),       -- sign_in, sign_in_failed, sign_out, export, send, user_added, …
    outcome       LowCardinality(String),       -- ok | denied | failed
    actor_kind    LowCardinality(String),       -- staff | operator | anonymous
    user_id       String,
    username      String,                       -- as typed for a failed sign-in
    role          LowCardinality(String),
    tenant_id     String,                       -- the tenant the action was about ('' = all or none)
    target        String,                       -- what was exported / sent / changed
    detail        String,                       -- JSON, never a password or a resident's message
    ip            String,
    user_agent    String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, event_id);
