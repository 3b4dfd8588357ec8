-- name: migrations.create_table
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version;

-- name: migrations.applied
SELECT version, name, checksum
FROM schema_migrations
ORDER BY version;
