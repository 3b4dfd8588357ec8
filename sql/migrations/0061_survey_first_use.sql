-- The first-use survey (owned by surveys/): per tenant, the survey a resident who adds the account as a
-- friend is invited to answer before the registration menu ('' none). Latest version wins.
CREATE TABLE IF NOT EXISTS survey_first_use
(
    tenant_id     LowCardinality(String),
    survey_id     String,
    changed_by    String,
    changed_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant_id;
