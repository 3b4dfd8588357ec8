-- Staff accounts who sign in to the dashboard (県, 受託者, 市町, 管理者).
-- Mutable record: every change appends a new version; readers use FINAL. The username is the key.
CREATE TABLE IF NOT EXISTS staff_users
(
    username       String,                              -- sign-in name, lower case
    user_id        String,                              -- stable id (UUID) kept in sessions and audit records
    display_name   String,
    role           LowCardinality(String),              -- admin | prefecture | contractor | municipality
    tenant_id      String,                              -- a municipality account's tenant, '' otherwise
    permissions    Array(LowCardinality(String)),       -- deliver, export_residents, manage_reports, manage_channels
    password_hash  String,                              -- argon2id (PHC string), never returned
    disabled       UInt8,
    created_at     DateTime64(3, 'UTC'),
    updated_at     DateTime64(3, 'UTC'),
    version        UInt64,
    is_deleted     UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY username;

-- API tokens a staff account uses for scripts (a contractor automating exports): only a SHA-256
-- of the token is kept; the token itself is shown once when it is made.
CREATE TABLE IF NOT EXISTS staff_api_tokens
(
    token_hash    String,
    username      String,
    label         String,
    created_at    DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY token_hash;
