-- Residents a delivery named but did not send to (owned by delivery/): a list of users (audience
-- 'users') skips those who blocked the account or are not friends when it is sent; how many is kept
-- with the record beside its targets. 0 for every other audience.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS skipped UInt32 DEFAULT 0 AFTER targets;
