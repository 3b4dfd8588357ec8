-- Tenants: one LINE Official Account each (the prefecture's own, or a municipality's).
-- Mutable record: append a new version; readers use FINAL (latest version, deleted rows hidden).
CREATE TABLE IF NOT EXISTS tenants
(
    tenant_id                String,                    -- local-government code, 5 digits (24000 = the prefecture)
    name                     String,
    name_kana                String,
    kind                     LowCardinality(String),    -- prefecture | municipality
    population               Nullable(UInt32),
    channel_id               String,
    bot_user_id              String,
    channel_secret_enc       String,                    -- AES-256-GCM, see core/crypto.ts
    channel_access_token_enc String,
    line_api                 LowCardinality(String),    -- sandbox | line
    created_at               DateTime64(3, 'UTC'),
    updated_at               DateTime64(3, 'UTC'),
    version                  UInt64,
    is_deleted               UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY tenant_id;
