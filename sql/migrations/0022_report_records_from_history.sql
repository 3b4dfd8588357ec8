-- The current state of minutes and issue-log entries follows from their history: one INSERT into a
-- history table writes the change and, through these views, the current row in the same statement,
-- so a failure can no longer leave a history entry whose change the current state lacks.
-- `record` is the record after the change, as the store writes it (JSON, Tokyo ISO timestamps).

CREATE MATERIALIZED VIEW IF NOT EXISTS report_minutes_from_history TO report_minutes AS
SELECT
    minutes_id,
    parseDateTime64BestEffort(JSONExtractString(record, 'heldAt'), 3, 'UTC')               AS held_at,
    parseDateTime64BestEffortOrNull(JSONExtractString(record, 'endedAt'), 3, 'UTC')        AS ended_at,
    JSONExtractString(record, 'kind')                                                      AS kind,
    JSONExtractString(record, 'title')                                                     AS title,
    JSONExtractString(record, 'place')                                                     AS place,
    JSONExtract(record, 'tenantIds', 'Array(String)')                                      AS tenant_ids,
    JSONExtractRaw(record, 'attendees')                                                    AS attendees,
    JSONExtract(record, 'agenda', 'Array(String)')                                         AS agenda,
    JSONExtractString(record, 'discussion')                                                AS discussion,
    JSONExtract(record, 'decisions', 'Array(String)')                                      AS decisions,
    JSONExtractRaw(record, 'actionItems')                                                  AS action_items,
    JSONExtractString(record, 'status')                                                    AS status,
    JSONExtractString(record, 'approvedBy')                                                AS approved_by,
    parseDateTime64BestEffortOrNull(JSONExtractString(record, 'approvedAt'), 3, 'UTC')     AS approved_at,
    JSONExtractString(record, 'createdBy')                                                 AS created_by,
    parseDateTime64BestEffort(JSONExtractString(record, 'createdAt'), 3, 'UTC')            AS created_at,
    JSONExtractString(record, 'updatedBy')                                                 AS updated_by,
    parseDateTime64BestEffort(JSONExtractString(record, 'updatedAt'), 3, 'UTC')            AS updated_at,
    version,
    toUInt8(action = 'deleted')                                                            AS is_deleted
FROM report_minutes_history;

CREATE MATERIALIZED VIEW IF NOT EXISTS report_issues_from_history TO report_issues AS
SELECT
    issue_id,
    toUInt32(JSONExtractUInt(record, 'no'))                                                AS issue_no,
    JSONExtractString(record, 'tenantId')                                                  AS tenant_id,
    toDate(JSONExtractString(record, 'raisedOn'))                                          AS raised_on,
    JSONExtractString(record, 'category')                                                  AS category,
    JSONExtractString(record, 'description')                                               AS description,
    JSONExtractString(record, 'response')                                                  AS response,
    JSONExtractString(record, 'owner')                                                     AS owner,
    JSONExtractString(record, 'status')                                                    AS status,
    toDateOrNull(JSONExtractString(record, 'dueOn'))                                       AS due_on,
    toDateOrNull(JSONExtractString(record, 'resolvedOn'))                                  AS resolved_on,
    JSONExtractString(record, 'createdBy')                                                 AS created_by,
    parseDateTime64BestEffort(JSONExtractString(record, 'createdAt'), 3, 'UTC')            AS created_at,
    JSONExtractString(record, 'updatedBy')                                                 AS updated_by,
    parseDateTime64BestEffort(JSONExtractString(record, 'updatedAt'), 3, 'UTC')            AS updated_at,
    version,
    toUInt8(action = 'deleted')                                                            AS is_deleted
FROM report_issues_history;
