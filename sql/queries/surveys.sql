-- Named queries of surveys/ (surveys and answers). Tables: sql/migrations/0055_surveys.sql.
-- "Latest" answers: per resident key the row with the highest version (append-only table).

-- name: surveys.list
-- A tenant's surveys, newest first.
SELECT tenant_id, survey_id, title, introduction, questions,
       toUnixTimestamp64Milli(opens_at) AS opens_ms, toUnixTimestamp64Milli(closes_at) AS closes_ms,
       anonymous, status, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM surveys FINAL
WHERE tenant_id = {tenant:String} AND ({survey:String} = '' OR survey_id = {survey:String})
ORDER BY created_at DESC, survey_id;

-- name: surveys.answer_rows
-- How many answer rows (partial saves included) a survey has: 0 means it may still be edited freely.
SELECT count() AS n FROM survey_answers
WHERE tenant_id = {tenant:String} AND survey_id = {survey:String};

-- name: surveys.respondents
-- Per survey of the given tenants (one survey, or '' for all): residents who sent it (complete) and
-- who saved it only partly, by each resident's latest answer (the results page and the staff list).
SELECT tenant_id, survey_id, countIf(p = 0) AS complete, countIf(p = 1) AS partial FROM (
  SELECT tenant_id, survey_id, resident_key, argMax(partial, version) AS p FROM survey_answers
  WHERE has({tenants:Array(String)}, tenant_id) AND ({survey:String} = '' OR survey_id = {survey:String})
  GROUP BY tenant_id, survey_id, resident_key
)
GROUP BY tenant_id, survey_id;

-- name: surveys.latest_answer
-- One resident's latest answer (none: no row).
SELECT question_ids, choices, texts, partial, toUnixTimestamp64Milli(answered_at) AS answered_ms, version
FROM survey_answers
WHERE tenant_id = {tenant:String} AND survey_id = {survey:String} AND resident_key = {key:String}
ORDER BY version DESC
LIMIT 1;

-- name: surveys.daily
-- Complete answers per Tokyo day of their latest sending.
SELECT toString(toDate(at, 'Asia/Tokyo')) AS day, count() AS n FROM (
  SELECT resident_key, argMax(partial, version) AS p, argMax(answered_at, version) AS at FROM survey_answers
  WHERE tenant_id = {tenant:String} AND survey_id = {survey:String}
  GROUP BY resident_key
)
WHERE p = 0
GROUP BY day ORDER BY day;

-- name: surveys.option_counts
-- Complete answers per question and option chosen.
SELECT qid, choice, count() AS n FROM (
  SELECT qid, arrayJoin(cs) AS choice FROM (
    SELECT resident_key, argMax(partial, version) AS p, argMax(question_ids, version) AS qids,
           argMax(choices, version) AS chs
    FROM survey_answers
    WHERE tenant_id = {tenant:String} AND survey_id = {survey:String}
    GROUP BY resident_key
    HAVING p = 0
  )
  ARRAY JOIN qids AS qid, chs AS cs
)
GROUP BY qid, choice ORDER BY qid, choice;

-- name: surveys.crosstab
-- Complete answers per question, option and group of a registered attribute ({{dim}}: gender,
-- age_group or residence, filled from a fixed list).
SELECT qid, choice, grp, count() AS n FROM (
  SELECT qid, grp, arrayJoin(cs) AS choice FROM (
    SELECT resident_key, argMax(partial, version) AS p, argMax(question_ids, version) AS qids,
           argMax(choices, version) AS chs, argMax({{dim}}, version) AS grp
    FROM survey_answers
    WHERE tenant_id = {tenant:String} AND survey_id = {survey:String}
    GROUP BY resident_key
    HAVING p = 0
  )
  ARRAY JOIN qids AS qid, chs AS cs
)
GROUP BY qid, choice, grp ORDER BY qid, choice, grp;

-- name: surveys.group_sizes
-- Complete answers per group of a registered attribute ({{dim}} as in surveys.crosstab).
SELECT grp, count() AS n FROM (
  SELECT resident_key, argMax(partial, version) AS p, argMax({{dim}}, version) AS grp
  FROM survey_answers
  WHERE tenant_id = {tenant:String} AND survey_id = {survey:String}
  GROUP BY resident_key
)
WHERE p = 0
GROUP BY grp ORDER BY grp;

-- name: surveys.texts
-- Free texts (and その他's texts) of complete answers to one question, newest first, containing
-- {search} ('' = all).
SELECT text, toUnixTimestamp64Milli(at) AS answered_ms FROM (
  SELECT at, qid, text FROM (
    SELECT resident_key, argMax(partial, version) AS p, argMax(question_ids, version) AS qids,
           argMax(texts, version) AS txs, argMax(answered_at, version) AS at
    FROM survey_answers
    WHERE tenant_id = {tenant:String} AND survey_id = {survey:String}
    GROUP BY resident_key
    HAVING p = 0
  )
  ARRAY JOIN qids AS qid, txs AS text
)
WHERE qid = {question:String} AND text != ''
  AND ({search:String} = '' OR positionCaseInsensitiveUTF8(text, {search:String}) > 0)
ORDER BY at DESC
LIMIT {limit:UInt32};

-- name: surveys.export_rows
-- Every resident's latest answer (complete and partial), a page at a time after the key {after}
-- (keyset paging over the table's order, so an export of any size holds one page in memory).
SELECT resident_key, argMax(partial, version) AS partial, argMax(question_ids, version) AS question_ids,
       argMax(choices, version) AS choices, argMax(texts, version) AS texts,
       argMax(gender, version) AS gender, argMax(age_group, version) AS age_group,
       argMax(residence, version) AS residence,
       toUnixTimestamp64Milli(argMax(answered_at, version)) AS answered_ms
FROM survey_answers
WHERE tenant_id = {tenant:String} AND survey_id = {survey:String} AND resident_key > {after:String}
GROUP BY resident_key
ORDER BY resident_key
LIMIT {limit:UInt32};

-- name: surveys.demo_attributes
-- The demo's answers copy what residents registered: gender, birth year and residence of a tenant's residents.
SELECT user_id,
       anyIf(values[1], item = 'gender') AS gender,
       anyIf(values[1], item = 'birth_year') AS birth_year,
       anyIf(values[1], item = 'residence') AS residence
FROM resident_attributes FINAL
WHERE tenant_id = {tenant:String} AND item IN ('gender', 'birth_year', 'residence') AND length(values) > 0
GROUP BY user_id;

-- name: surveys.first_use
-- The tenant's first-use survey ('' or no row: none). Table: sql/migrations/0061_survey_first_use.sql.
SELECT survey_id FROM survey_first_use FINAL WHERE tenant_id = {tenant:String};
