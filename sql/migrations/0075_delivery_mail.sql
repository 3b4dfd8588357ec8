-- Deliveries started by e-mail (owned by delivery/mail/): each tenant's recipient address secret and
-- allowed senders, its rules, every mail received (never its body), and the full texts of notices
-- longer than a LINE message (served on a public page by an unguessable id). Mutable rows:
-- ReplacingMergeTree(version, is_deleted), read with FINAL.

CREATE TABLE IF NOT EXISTS delivery_mail_settings
(
    tenant_id        String,
    secret           String,                   -- the secret part of the recipient address <tenant>-<secret>@<domain>
    allowed_senders  Array(String),            -- lower-case addresses, or @domain for a whole domain
    enabled          UInt8,
    updated_by       String,
    updated_at       DateTime64(3, 'UTC'),
    version          UInt64,
    is_deleted       UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY tenant_id;

CREATE TABLE IF NOT EXISTS delivery_mail_rules
(
    tenant_id   String,
    rule_id     String,
    name        String,
    sort        Int32,
    enabled     UInt8,
    urgent      UInt8,                         -- 1: sent at once; 0: a draft staff approve
    match       String,                        -- JSON: { from?, subject?, body? } each { kind: text | pattern, value }
    template    String,                        -- the message, with {{subject}} {{body}} {{from}} {{date}}
    audience    String,                        -- JSON: { type: all } | { type: segment, condition, label } | { type: places }
    updated_by  String,
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64,
    is_deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, rule_id);

-- One row per mail received (or refused), appended; no body.
CREATE TABLE IF NOT EXISTS delivery_mail_log
(
    tenant_id     String,
    mail_id       String,
    received_at   DateTime64(3, 'UTC'),
    sender        String,
    subject       String,
    message_id    String,
    remote_ip     String,
    outcome       LowCardinality(String),      -- sent | draft | parked | rejected | limited | failed
    reason        String,
    rule_id       String,
    rule_name     String,
    delivery_id   String,
    notice_id     String,
    places        Array(String)                -- names found in the mail that chose the audience
)
ENGINE = MergeTree
ORDER BY (tenant_id, received_at, mail_id);

-- The full text of a notice too long for one LINE message (what the delivery links to).
CREATE TABLE IF NOT EXISTS delivery_mail_notices
(
    notice_id   String,
    tenant_id   String,
    subject     String,
    body        String,
    created_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY notice_id;
