-- The FAQ chatbot (owned by faq/): each tenant's scenario tree (a working draft, published versions
-- kept for rollback, the live version), its settings (typed questions, the AI endpoint, keeping
-- unmatched questions), what residents did with it (append-only events) and the unmatched questions
-- a tenant chose to keep (deleted by TTL after its retention period).

-- The draft staff edit: one row per tenant (latest version wins).
CREATE TABLE IF NOT EXISTS faq_drafts
(
    tenant_id     LowCardinality(String),
    nodes         String,                        -- JSON: FaqNode[] (faq/schemas.ts)
    updated_by    String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant_id;

-- Every publish appends a numbered version (1, 2, …); never updated.
CREATE TABLE IF NOT EXISTS faq_versions
(
    tenant_id     LowCardinality(String),
    number        UInt32,
    nodes         String,                        -- JSON: FaqNode[]
    note          String,
    published_by  String,
    published_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, number);

-- Which version residents see (publish: the new one; rollback: an older one).
CREATE TABLE IF NOT EXISTS faq_live
(
    tenant_id     LowCardinality(String),
    number        UInt32,
    changed_by    String,
    changed_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant_id;

CREATE TABLE IF NOT EXISTS faq_settings
(
    tenant_id       LowCardinality(String),
    accept_typed    UInt8,                       -- 1: typed questions are matched (else the auto-reply answers)
    ai_endpoint     String,                      -- '' none; else an http(s) URL asked for unmatched questions
    ai_timeout_ms   UInt32,
    keep_unmatched  UInt8,                       -- 1: unmatched typed questions are kept …
    retention_days  UInt16,                      -- … this many days
    contact         String,                      -- the fallback's contact line
    updated_by      String,
    updated_at      DateTime64(3, 'UTC'),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant_id;

-- What residents did: view (a node shown), resolved / unresolved (はい / いいえ on a node, '_ai' for an
-- AI answer), candidates (a typed question answered with candidates), fallback, ai, unmatched.
-- No user id and no typed text.
CREATE TABLE IF NOT EXISTS faq_events
(
    tenant_id     LowCardinality(String),
    at            DateTime64(3, 'UTC'),
    kind          LowCardinality(String),
    node_id       String,
    via           LowCardinality(String),        -- chat | typed | liff
    event_id      String                         -- the webhook event (or request) that caused it
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant_id, kind, node_id, at, event_id);

CREATE TABLE IF NOT EXISTS faq_unmatched
(
    tenant_id     LowCardinality(String),
    at            DateTime64(3, 'UTC'),
    text          String,
    expires_at    DateTime('UTC'),
    event_id      String
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, at, event_id)
TTL expires_at DELETE;
