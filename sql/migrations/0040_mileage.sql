-- Health mileage (owned by mileage/): each municipality's programme per fiscal year, its activities
-- and event sessions, the participants' member numbers, the append-only points ledger and its
-- rollup, the benefit cards (とこわか健康応援カード) issued on reaching the goal, and the one card
-- design the prefecture manages for every municipality.
-- Mutable records are ReplacingMergeTree rows (append a new version; readers use FINAL).

CREATE TABLE IF NOT EXISTS mileage_programmes
(
    tenant_id          LowCardinality(String),        -- the municipality
    programme_id       String,                        -- UUID
    fiscal_year        UInt16,                        -- 2026 = 令和8年度 (April to March)
    name               String,                        -- e.g. 津市とこわか健康マイレージ
    description        String,
    starts_on          Date,                          -- first day points count (Tokyo)
    ends_on            Date,                          -- last day points count (Tokyo)
    goal_points        UInt32,                        -- points that earn the card
    card_valid_months  UInt16,                        -- the card's validity from its issue date
    created_by         String,
    created_at         DateTime64(3, 'UTC'),
    updated_by         String,
    updated_at         DateTime64(3, 'UTC'),
    version            UInt64,
    is_deleted         UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, programme_id);

CREATE TABLE IF NOT EXISTS mileage_activities
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    activity_id        String,                        -- UUID
    name               String,                        -- e.g. 健康診断の受診, ウォーキング 30 分
    points             UInt32,                        -- per award
    method             LowCardinality(String),        -- qr | self_report | grant
    self_report_label  String,                        -- quick-reply label (self_report), e.g. 今日30分歩いた
    daily_cap          UInt16,                        -- awards per resident per Tokyo day (0: no cap)
    period_cap         UInt16,                        -- awards per resident per programme period (0: no cap)
    sort               Int32,
    retired            UInt8,                         -- no longer offered; earned points stay
    updated_by         String,
    updated_at         DateTime64(3, 'UTC'),
    version            UInt64,
    is_deleted         UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, programme_id, activity_id);

-- An event or venue where residents scan a QR code (one award per resident per session).
CREATE TABLE IF NOT EXISTS mileage_sessions
(
    tenant_id          LowCardinality(String),
    session_id         String,                        -- UUID
    programme_id       String,
    activity_id        String,
    title              String,                        -- e.g. 健康ウォーキング大会
    held_on            Date,
    place              String,
    valid_from         DateTime64(3, 'UTC'),          -- the code is accepted from …
    valid_until        DateTime64(3, 'UTC'),          -- … until (it expires)
    created_by         String,
    created_at         DateTime64(3, 'UTC'),
    version            UInt64,
    is_deleted         UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (tenant_id, session_id);

-- A participant's member number (会員番号), given once per municipality on first participation and
-- kept for good (a resident who blocks and unblocks keeps it). Staff grant points by this number.
CREATE TABLE IF NOT EXISTS mileage_members
(
    tenant_id          LowCardinality(String),
    user_id            String,
    member_no          String,                        -- e.g. 24201-000123-7 (code, serial, check digit)
    joined_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, user_id);

-- The points ledger: append only. One row per award, keyed by its idempotency key (entry_id), so
-- a retried or doubled award is stored once. A correction is a new (negative) entry that names the
-- entry it corrects; nothing is ever edited.
CREATE TABLE IF NOT EXISTS mileage_ledger
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    user_id            String,
    entry_id           String,                        -- idempotency key, e.g. scan:<session>:<user>
    activity_id        String,                        -- '' for a correction of several activities
    kind               LowCardinality(String),        -- scan | self_report | grant | correction
    points             Int32,
    activity_on        Date,                          -- the Tokyo day the activity counts for
    source_id          String,                        -- session id, webhook event id, import id …
    corrects           String,                        -- entry_id corrected ('' otherwise)
    reason             String,                        -- required for grants and corrections
    actor              String,                        -- 'resident' or the staff account
    recorded_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, programme_id, user_id, entry_id);

-- Balances per participant and programme, kept by the view below (the pages read this, not the
-- ledger). The ledger's writer stores each entry once, so the sums are exact.
CREATE TABLE IF NOT EXISTS mileage_balances
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    user_id            String,
    points             SimpleAggregateFunction(sum, Int64),
    entries            SimpleAggregateFunction(sum, UInt64),
    first_at           SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_at            SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant_id, programme_id, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS mileage_balances_mv TO mileage_balances AS
SELECT tenant_id, programme_id, user_id,
       toInt64(points) AS points, toUInt64(1) AS entries,
       recorded_at AS first_at, recorded_at AS last_at
FROM mileage_ledger;

-- The benefit card (とこわか健康応援カード), one per participant and programme, issued when the
-- balance first reaches the goal.
CREATE TABLE IF NOT EXISTS mileage_cards
(
    tenant_id          LowCardinality(String),
    programme_id       String,
    user_id            String,
    card_no            String,                        -- the member number
    design_id          String,                        -- the design in use when it was issued
    issued_at          DateTime64(3, 'UTC'),
    valid_until        Date,                          -- last valid day (Tokyo)
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, programme_id, user_id);

-- The card's one design for every municipality, managed by prefecture staff: a draft is previewed,
-- then published; the newest published design is the one cards show.
CREATE TABLE IF NOT EXISTS mileage_card_designs
(
    design_id          String,                        -- UUID
    name               String,
    title              String,                        -- printed on the card, e.g. 三重とこわか健康応援カード
    note               String,                        -- e.g. 協力店で提示すると特典が受けられます
    colour             String,                        -- #rrggbb, the card's main colour
    image_png          String,                        -- base64 PNG (the artwork), '' for none
    image_sha256       String,
    status             LowCardinality(String),        -- draft | published
    created_by         String,
    created_at         DateTime64(3, 'UTC'),
    published_at       Nullable(DateTime64(3, 'UTC')),
    version            UInt64,
    is_deleted         UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY design_id;
