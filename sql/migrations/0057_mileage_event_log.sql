-- Mileage awards are acknowledged once durable in the local event log; the shipper
-- (ingest/shipper.ts) inserts their rows in batches and sends a batch again after a crash with the
-- same insert_deduplication_token: these windows keep the tokens of recent INSERTs, so a batch
-- re-sent is stored once in the tables and counted once by their materialized views (balances and
-- rollups add up whatever reaches them).
ALTER TABLE mileage_ledger MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE mileage_members MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE mileage_cards MODIFY SETTING non_replicated_deduplication_window = 10000;
