-- The event log's shipper (ingest/shipper.ts) inserts a batch of the log again after a crash, with the
-- same insert_deduplication_token (the batch's range in the log): these windows make ClickHouse keep
-- the tokens of recent INSERTs, so a batch re-sent is stored once. raw_webhook_events also collapses
-- duplicates by its key; delivery_clicks (a plain MergeTree: each row is one click) relies on this.
ALTER TABLE raw_webhook_events MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE delivery_clicks MODIFY SETTING non_replicated_deduplication_window = 10000;
