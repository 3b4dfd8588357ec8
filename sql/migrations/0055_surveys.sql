-- Surveys (owned by surveys/): each tenant's surveys (versioned rows; readers use FINAL) and the
-- residents' answers, append-only (the latest row per resident and survey wins).

CREATE TABLE IF NOT EXISTS surveys
(
    tenant_id     LowCardinality(String),
    survey_id     String,                        -- UUID
    title         String,
    introduction  String,
    questions     String,                        -- JSON: Question[] (surveys/schemas.ts)
    opens_at      DateTime64(3, 'UTC'),          -- answers accepted from …
    closes_at     DateTime64(3, 'UTC'),          -- … until
    anonymous     UInt8,                         -- 1: answers keyed by a per-survey pseudonym, not the user id
    status        LowCardinality(String),        -- draft | open | closed
    created_by    String,
    created_at    DateTime64(3, 'UTC'),
    updated_by    String,
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, survey_id);

-- One row per save of a resident's answer (partial saves too); never updated.
-- The registered attributes (gender, age group, residence) are copied at answering, so anonymous
-- answers can be cross-tabulated without tying them to a resident.
CREATE TABLE IF NOT EXISTS survey_answers
(
    tenant_id     LowCardinality(String),
    survey_id     String,
    resident_key  String,                        -- LINE user id (identified) or HMAC pseudonym (anonymous)
    question_ids  Array(String),                 -- the questions answered, in order
    choices       Array(Array(String)),          -- per question: option ids chosen ('_other' for その他)
    texts         Array(String),                 -- per question: free text, number, date, rating or その他's text
    partial       UInt8,                         -- 1: saved on the way, not yet sent
    gender        LowCardinality(String),
    age_group     LowCardinality(String),        -- 10代以下 … 70代以上, '' unknown
    residence     String,                        -- area id, '' unknown
    answered_at   DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = MergeTree
ORDER BY (tenant_id, survey_id, resident_key, version);
