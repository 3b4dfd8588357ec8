-- Click tracking through Tayori's redirect (/r/<token>): no personal data in the URL, only an
-- opaque token per (delivery, link, audience bucket). Owned by delivery/.

ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS links Array(String) AFTER messages;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS click_bucket LowCardinality(String) DEFAULT '' AFTER links;

-- One row per token: which delivery, which link (its position among the delivery's links), which
-- bucket of the audience (e.g. gender 'female', age '1980', '' = everyone) and the target URL.
CREATE TABLE IF NOT EXISTS delivery_links
(
    token        String,
    tenant_id    String,
    delivery_id  String,
    link_no      UInt16,
    bucket       String,
    url          String,
    created_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY token;

-- Every click on a tracked link (no resident id: LINE does not tell us who clicked).
CREATE TABLE IF NOT EXISTS delivery_clicks
(
    tenant_id    LowCardinality(String),
    delivery_id  String,
    link_no      UInt16,
    bucket       String,
    clicked_at   DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(clicked_at)
ORDER BY (tenant_id, delivery_id, link_no, bucket, clicked_at);
