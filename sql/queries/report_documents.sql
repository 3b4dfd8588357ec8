-- Named queries of the report documents (reports/documents): what the dashboard's queries do not
-- cover — who each delivery went to, and clicks split by the audience's attributes.

-- name: report_documents.delivery_audiences
-- The audience of each delivery made through Tayori (its record), keyed as LINE's statistics are
-- tracked: a multicast by its aggregation unit, a broadcast by LINE's request id.
SELECT tenant_id, if(send_method = 'broadcast', request_id, aggregation_unit) AS key, any(audience_label) AS audience_label,
       any(JSONExtractString(audience, 'type')) AS audience_type, toUInt64(sum(targets)) AS targets
FROM deliveries FINAL
WHERE tenant_id IN {tenants:Array(String)} AND kind = 'normal' AND if(send_method = 'broadcast', request_id, aggregation_unit) != ''
GROUP BY tenant_id, key;

-- name: report_documents.click_buckets
-- Clicks on tracked links in [from, to) (UTC instants), by the attribute the delivery split its
-- audience by (gender, age, residence) and the bucket; an area's name for a residence bucket ('' for others).
SELECT d.bucket_by AS dimension, c.bucket AS bucket, count() AS clicks, uniqExact(c.tenant_id, c.delivery_id) AS deliveries,
       if(dimension = 'residence', any(a.name), '') AS bucket_name
FROM delivery_clicks AS c
INNER JOIN
(
    SELECT tenant_id, delivery_id, any(click_bucket) AS bucket_by
    FROM deliveries FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND click_bucket != '' AND kind = 'normal'
    GROUP BY tenant_id, delivery_id
) AS d ON toString(c.tenant_id) = d.tenant_id AND c.delivery_id = d.delivery_id
LEFT JOIN
(
    SELECT category_id, any(name) AS name FROM delivery_categories FINAL
    WHERE tenant_id IN {tenants:Array(String)} AND parent_id = '@area'
    GROUP BY category_id
) AS a ON c.bucket = a.category_id
WHERE c.tenant_id IN {tenants:Array(String)} AND c.clicked_at >= {from:DateTime64(3)} AND c.clicked_at < {to:DateTime64(3)}
GROUP BY dimension, bucket
ORDER BY dimension, clicks DESC, bucket;
