-- LINE Insight statistics, fetched by the pollers in ingest/insight.

-- GET /v2/bot/insight/followers, one row per tenant and Asia/Tokyo day. A re-fetch (backfill)
-- appends a newer version; readers use FINAL. Counts LINE did not give stay NULL, never 0.
-- Only final answers are stored: 'ready' or 'out_of_service' (an 'unready' day is retried).
CREATE TABLE IF NOT EXISTS insight_followers_daily
(
    tenant_id        String,
    day              Date,                      -- the Asia/Tokyo day the figures are about
    status           LowCardinality(String),    -- ready | out_of_service
    followers        Nullable(UInt64),
    targeted_reaches Nullable(UInt64),
    blocks           Nullable(UInt64),
    fetched_at       DateTime64(3, 'UTC'),
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, day);

-- Deliveries whose statistics are polled for 14 days after sending: by custom aggregation unit
-- (push, multicast) or by request id (narrowcast, broadcast). The record of what to poll, so
-- tracking survives a restart or a lost Redis.
CREATE TABLE IF NOT EXISTS insight_tracked_deliveries
(
    tenant_id     String,
    kind          LowCardinality(String),       -- aggregation_unit | request_id
    key           String,                       -- the unit name or the x-line-request-id
    sent_at       DateTime64(3, 'UTC'),
    track_until   DateTime64(3, 'UTC'),         -- sent_at + 14 days: LINE's figures stop changing
    registered_at DateTime64(3, 'UTC'),
    version       UInt64,
    is_deleted    UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, kind, key);

-- Snapshots of a delivery's statistics over time: every poll appends one row; readers take the
-- latest 'ready' one. LINE's privacy rule (fewer than 20 users) gives NULL, kept as NULL.
-- Totals over messages/URLs are NULL when any of their parts is NULL.
CREATE TABLE IF NOT EXISTS insight_message_stats
(
    tenant_id                        String,
    kind                             LowCardinality(String),
    key                              String,
    sent_at                          DateTime64(3, 'UTC'),
    fetched_at                       DateTime64(3, 'UTC'),
    status                           LowCardinality(String),    -- ready | not_found
    delivered                        Nullable(UInt64),          -- request_id only
    unique_impression                Nullable(UInt64),
    unique_click                     Nullable(UInt64),
    unique_media_played              Nullable(UInt64),
    unique_media_played_100_percent  Nullable(UInt64),
    impression                       Nullable(UInt64),          -- sum over the messages
    click                            Nullable(UInt64),          -- sum over the URLs
    media_played                     Nullable(UInt64),          -- sum over the messages
    messages Array(Tuple(
        seq                             UInt16,
        impression                      Nullable(UInt64),
        unique_impression               Nullable(UInt64),
        media_played                    Nullable(UInt64),
        media_played_25_percent         Nullable(UInt64),
        media_played_50_percent         Nullable(UInt64),
        media_played_75_percent         Nullable(UInt64),
        media_played_100_percent        Nullable(UInt64),
        unique_media_played             Nullable(UInt64),
        unique_media_played_25_percent  Nullable(UInt64),
        unique_media_played_50_percent  Nullable(UInt64),
        unique_media_played_75_percent  Nullable(UInt64),
        unique_media_played_100_percent Nullable(UInt64)
    )),
    clicks Array(Tuple(
        seq                     UInt16,
        url                     String,
        click                   Nullable(UInt64),
        unique_click            Nullable(UInt64),
        unique_click_of_request Nullable(UInt64)
    )),
    response                         String                     -- LINE's answer as received (JSON)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(sent_at)
ORDER BY (tenant_id, kind, key, fetched_at);
