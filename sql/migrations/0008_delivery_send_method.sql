-- How a delivery goes out (owned by delivery/): 'multicast' (batches of 500 from Tayori's audience)
-- or 'broadcast' (one request to every friend of the account, for "all friends"). A broadcast's
-- statistics are LINE's by request id (it carries no custom aggregation unit), so its
-- x-line-request-id is kept with the record.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS send_method LowCardinality(String) DEFAULT 'multicast' AFTER audience_label;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS request_id String DEFAULT '' AFTER aggregation_unit;
