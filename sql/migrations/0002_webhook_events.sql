-- Every webhook event LINE delivered, as received (one row per event).
-- Redeliveries and duplicates share webhook_event_id, timestamp and type, so they share the sorting
-- key and collapse into one row (readers use FINAL); figures come from the daily rollup below.
-- Message events keep the message type only: never text, never media.
CREATE TABLE IF NOT EXISTS raw_webhook_events
(
    tenant_id        LowCardinality(String),
    day              Date,                         -- the event's day in Asia/Tokyo
    type             LowCardinality(String),       -- follow, unfollow, message, postback, … (unknown types kept by name)
    webhook_event_id String,
    ts               DateTime64(3, 'UTC'),         -- the event's timestamp
    mode             LowCardinality(String),       -- active | standby
    source_type      LowCardinality(String),       -- user | group | room
    user_id          String,
    group_id         String,                       -- groupId or roomId
    is_redelivery    UInt8,
    is_unblocked     UInt8,                        -- follow.isUnblocked
    postback_data    String,
    message_type     LowCardinality(String),       -- message.type only
    received_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, type, webhook_event_id);

-- Daily per-tenant figures, rebuilt idempotently from raw_webhook_events FINAL for the days that
-- received events (so duplicates never count twice). Dashboards and reports read this table.
CREATE TABLE IF NOT EXISTS webhook_events_per_day
(
    tenant_id    LowCardinality(String),
    day          Date,
    follows      UInt32,                           -- new friends (follow, not an unblock)
    unblocks     UInt32,                           -- follow with isUnblocked
    unfollows    UInt32,                           -- blocks
    postbacks    UInt32,
    messages     UInt32,
    events       UInt32,                           -- every event of the day
    users        UInt32,                           -- distinct residents with an event that day
    computed_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (tenant_id, day);
