-- Each tenant's rich menu as Tayori applied it (owned by delivery/): LINE's rich menu id and the
-- links of its お知らせ / 問い合わせ areas, so that applying it again keeps them. Every apply
-- appends a row; the latest wins (readers use FINAL).
CREATE TABLE IF NOT EXISTS delivery_rich_menus
(
    tenant_id     String,
    rich_menu_id  String,
    news_url      String,
    contact_url   String,
    applied_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY tenant_id;
