-- The rich menu editor (owned by delivery/rich-menus/). A tenant's menus (a tab each), their
-- versions (draft → published; every save is a new version, the published one is live on LINE),
-- the images staff uploaded, which resident is linked to which menu (per-audience menus) and
-- scheduled switches. Mutable rows: ReplacingMergeTree(row_version, is_deleted), read with FINAL.

CREATE TABLE IF NOT EXISTS delivery_rich_menu_menus
(
    tenant_id          LowCardinality(String),
    menu_id            String,                   -- UUID
    title              String,                   -- staff's name for it (the tab)
    alias_id           String,                   -- LINE rich menu alias (tabs switch to it)
    live_version       UInt32,                   -- 0: never published
    line_rich_menu_id  String,                   -- LINE's id of the live version ('' when none)
    is_default         UInt8,                    -- the channel's default menu
    audience           String,                   -- JSON segment condition ('' : none); residents matching are linked to it
    priority           UInt16,                   -- among audience menus, the lowest wins
    job                String,                   -- JSON: the LINE work queued for it ('' when none), its state and last answer
    updated_by         String,
    updated_at         DateTime64(3, 'UTC'),
    row_version        UInt64,
    is_deleted         UInt8
)
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (tenant_id, menu_id);

CREATE TABLE IF NOT EXISTS delivery_rich_menu_versions
(
    tenant_id          LowCardinality(String),
    menu_id            String,
    version_no         UInt32,
    design             String,                   -- JSON: Design (delivery/rich-menus/design.ts)
    status             LowCardinality(String),   -- draft | published | superseded
    line_rich_menu_id  String,                   -- while it is (or was) live on LINE
    created_by         String,
    created_at         DateTime64(3, 'UTC'),
    published_at       Nullable(DateTime64(3, 'UTC')),
    row_version        UInt64
)
ENGINE = ReplacingMergeTree(row_version)
ORDER BY (tenant_id, menu_id, version_no);

-- Uploaded images, content-addressed (SHA-256); never changed.
CREATE TABLE IF NOT EXISTS delivery_rich_menu_images
(
    tenant_id     LowCardinality(String),
    image_id      String,
    content_type  LowCardinality(String),
    width         UInt16,
    height        UInt16,
    data          String,                         -- base64
    created_by    String,
    created_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, image_id);

-- Which audience menu each resident is linked to on LINE (absent / deleted: the default).
CREATE TABLE IF NOT EXISTS delivery_rich_menu_links
(
    tenant_id     LowCardinality(String),
    user_id       String,
    menu_id       String,
    linked_at     DateTime64(3, 'UTC'),
    row_version   UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (tenant_id, user_id);

-- A menu that becomes the default at starts_at and gives way to the tenant's default at ends_at.
CREATE TABLE IF NOT EXISTS delivery_rich_menu_schedules
(
    tenant_id     LowCardinality(String),
    schedule_id   String,
    menu_id       String,
    starts_at     DateTime64(3, 'UTC'),
    ends_at       DateTime64(3, 'UTC'),
    state         LowCardinality(String),         -- pending | active | done | cancelled
    created_by    String,
    row_version   UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (tenant_id, schedule_id);
