-- Residents as delivery sees them (owned by delivery/).

-- Whether a resident is a friend now, per tenant: fed by follow/unfollow webhook events.
-- Latest event wins: version is derived from the event's timestamp, so a redelivered or late
-- event never overrides a newer one. Readers use FINAL.
CREATE TABLE IF NOT EXISTS resident_states
(
    tenant_id   LowCardinality(String),
    user_id     String,
    is_friend   UInt8,                         -- 1 after follow / unblock, 0 after unfollow (block)
    changed_at  DateTime64(3, 'UTC'),          -- the event's timestamp
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, user_id);

-- Residents' self-registered attributes, one row per (resident, item); a change appends a newer
-- version (latest wins; readers use FINAL). item is a built-in key (lifestyle, birth_year, gender,
-- residence, news_areas, interests) or 'x:<item id>' for a tenant's extra items. values holds
-- option / category ids, never labels, so renaming keeps every answer.
CREATE TABLE IF NOT EXISTS resident_attributes
(
    tenant_id   LowCardinality(String),
    user_id     String,
    item        LowCardinality(String),
    values      Array(String),
    answered_at DateTime64(3, 'UTC'),
    version     UInt64,
    is_deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, user_id, item);

-- A tenant's interest tree (large / middle / small) and the options of its attribute items.
-- Retired entries stay (answers that point at them keep their meaning) but are no longer offered.
CREATE TABLE IF NOT EXISTS delivery_categories
(
    tenant_id   String,
    category_id String,
    parent_id   String,                        -- '' for a large category
    name        String,
    sort        Int32,
    retired     UInt8,
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64,
    is_deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, category_id);

-- Extra attribute items a tenant asks about besides the built-in ones.
CREATE TABLE IF NOT EXISTS delivery_attribute_items
(
    tenant_id   String,
    item_id     String,
    label       String,
    multiple    UInt8,                         -- several options may be chosen
    options     String,                        -- JSON: [{id, label, retired}]
    sort        Int32,
    retired     UInt8,
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64,
    is_deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, item_id);

-- A tenant's registered test devices (staff's own LINE accounts that are friends of the account).
CREATE TABLE IF NOT EXISTS delivery_test_devices
(
    tenant_id   String,
    user_id     String,
    label       String,
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64,
    is_deleted  UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, user_id);
