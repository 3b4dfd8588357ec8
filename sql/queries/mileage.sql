-- Named queries of mileage/ (programmes, activities, sessions, members, the ledger, balances,
-- cards and the card design). Tables: sql/migrations/0040_mileage.sql.

-- name: mileage.programmes
-- A tenant's programmes ('' = every tenant's), newest fiscal year first.
SELECT tenant_id, programme_id, fiscal_year, name, description,
       toString(starts_on) AS starts_on, toString(ends_on) AS ends_on,
       goal_points, card_valid_months, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM mileage_programmes FINAL
WHERE ({tenant:String} = '' OR tenant_id = {tenant:String})
ORDER BY tenant_id, fiscal_year DESC, starts_on DESC, programme_id;

-- name: mileage.activities
-- The activities of a tenant's programmes ('' = every programme of the tenant), retired included.
SELECT tenant_id, programme_id, activity_id, name, points, method, self_report_label,
       daily_cap, period_cap, sort, retired, updated_by,
       toUnixTimestamp64Milli(updated_at) AS updated_ms, version
FROM mileage_activities FINAL
WHERE tenant_id = {tenant:String} AND ({programme:String} = '' OR programme_id = {programme:String})
ORDER BY programme_id, sort, name, activity_id;

-- name: mileage.sessions
-- A tenant's event sessions ('' = every programme), newest first.
SELECT tenant_id, session_id, programme_id, activity_id, title, toString(held_on) AS held_on, place,
       toUnixTimestamp64Milli(valid_from) AS valid_from_ms, toUnixTimestamp64Milli(valid_until) AS valid_until_ms,
       created_by, toUnixTimestamp64Milli(created_at) AS created_ms, version
FROM mileage_sessions FINAL
WHERE tenant_id = {tenant:String} AND ({programme:String} = '' OR programme_id = {programme:String})
ORDER BY held_on DESC, created_at DESC, session_id;

-- name: mileage.activity_awards
-- How many ledger entries an activity has (0: it may be deleted; otherwise it is retired).
SELECT count() AS n FROM mileage_ledger
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND activity_id = {activity:String};

-- name: mileage.members_of_tenant
-- A tenant's member numbers (the award guards are rebuilt from these), a page at a time after the
-- user id {after_user} ('' first): mileage_members, and the numbers ledger entries carry (a first
-- award's member row is written after its entry).
SELECT user_id, any(member_no) AS member_no FROM (
    SELECT user_id, member_no FROM mileage_members FINAL
    WHERE tenant_id = {tenant:String} AND user_id > {after_user:String}
    UNION ALL
    SELECT user_id, member_no FROM mileage_ledger
    WHERE tenant_id = {tenant:String} AND member_no != '' AND user_id > {after_user:String}
)
GROUP BY user_id
ORDER BY user_id
LIMIT {limit:UInt32};

-- name: mileage.member_by_no
-- The participant with a member number (from mileage_members, or a ledger entry that carries it).
SELECT user_id, member_no FROM (
    SELECT user_id, member_no FROM mileage_members FINAL
    WHERE tenant_id = {tenant:String} AND member_no = {member_no:String}
    UNION ALL
    SELECT user_id, member_no FROM mileage_ledger
    WHERE tenant_id = {tenant:String} AND member_no = {member_no:String}
)
LIMIT 1;

-- name: mileage.members_by_nos
-- The participants with these member numbers (an import's rows, in one query).
SELECT member_no, any(user_id) AS user_id FROM (
    SELECT user_id, member_no FROM mileage_members FINAL
    WHERE tenant_id = {tenant:String} AND member_no IN {member_nos:Array(String)}
    UNION ALL
    SELECT user_id, member_no FROM mileage_ledger
    WHERE tenant_id = {tenant:String} AND member_no IN {member_nos:Array(String)}
)
GROUP BY member_no;

-- name: mileage.ledger_guards
-- A tenant's ledger entries for rebuilding the award guards and cap counters in Redis, in the
-- table's order (each participant's entries together), a page at a time after the entry
-- ({after_programme}, {after_user}, {after_entry}) ('', '', '' first).
SELECT programme_id, user_id, entry_id, activity_id, kind, toString(activity_on) AS activity_on
FROM mileage_ledger FINAL
WHERE tenant_id = {tenant:String} AND programme_id >= {after_programme:String}
  AND (programme_id, user_id, entry_id) > ({after_programme:String}, {after_user:String}, {after_entry:String})
ORDER BY programme_id, user_id, entry_id
LIMIT {limit:UInt32};

-- name: mileage.balances_of_tenant
-- Each participant's balance per programme, from the rollup (not the ledger), a page at a time
-- after ({after_programme}, {after_user}) ('', '' first).
SELECT programme_id, user_id, sum(points) AS points
FROM mileage_balances
WHERE tenant_id = {tenant:String} AND programme_id >= {after_programme:String}
  AND (programme_id, user_id) > ({after_programme:String}, {after_user:String})
GROUP BY programme_id, user_id
ORDER BY programme_id, user_id
LIMIT {limit:UInt32};

-- name: mileage.balance
-- One participant's balance in one programme, from the rollup.
SELECT sum(points) AS points, sum(entries) AS entries,
       toUnixTimestamp64Milli(max(last_at)) AS last_ms
FROM mileage_balances
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND user_id = {user:String};

-- name: mileage.history
-- A participant's entries in a programme, newest first, a page at a time.
SELECT entry_id, activity_id, kind, points, toString(activity_on) AS activity_on, source_id, corrects,
       reason, actor, toUnixTimestamp64Milli(recorded_at) AS recorded_ms
FROM mileage_ledger FINAL
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND user_id = {user:String}
ORDER BY recorded_at DESC, entry_id DESC
LIMIT {limit:UInt32} OFFSET {offset:UInt32};

-- name: mileage.history_count
SELECT count() AS n
FROM mileage_ledger FINAL
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND user_id = {user:String};

-- name: mileage.entry
-- One ledger entry of a programme, by its id (what a correction names).
SELECT user_id, entry_id, activity_id, kind, points, toString(activity_on) AS activity_on, corrects
FROM mileage_ledger FINAL
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND entry_id = {entry:String}
LIMIT 1;

-- name: mileage.corrections_of
-- Corrections already made to an entry.
SELECT count() AS n FROM mileage_ledger FINAL
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND corrects = {entry:String};

-- name: mileage.participants
-- A programme's participants, a page at a time: member number, balance (rollup), last activity and
-- card. {digits}: only those whose member number (without hyphens) contains these digits ('' = all).
-- Order: {order} 'points' (most points first) or 'member' (member number), then member number and
-- user id, so every participant has one place; pages by {limit}/{offset}, or after the
-- participant ({after_member}, {after_user}) in member order (the CSV's pages; '', '' first).
-- (LEFT JOIN without a match gives '' / the epoch: a card is there when card_no is not '')
SELECT b.user_id AS user_id, m.member_no AS member_no, b.points AS points, b.entries AS entries,
       toUnixTimestamp64Milli(b.first_at) AS first_ms, toUnixTimestamp64Milli(b.last_at) AS last_ms,
       c.card_no AS card_no, toUnixTimestamp64Milli(c.issued_at) AS card_issued_ms,
       toString(c.valid_until) AS card_valid_until
FROM (
    SELECT user_id, sum(points) AS points, sum(entries) AS entries, min(first_at) AS first_at, max(last_at) AS last_at
    FROM mileage_balances
    WHERE tenant_id = {tenant:String} AND programme_id = {programme:String}
    GROUP BY user_id
) AS b
LEFT JOIN (
    SELECT user_id, any(member_no) AS member_no FROM (
        SELECT user_id, member_no FROM mileage_members FINAL WHERE tenant_id = {tenant:String}
        UNION ALL
        SELECT user_id, member_no FROM mileage_ledger
        WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND member_no != ''
    )
    GROUP BY user_id
) AS m ON m.user_id = b.user_id
LEFT JOIN (
    SELECT user_id, card_no, issued_at, valid_until FROM mileage_cards FINAL
    WHERE tenant_id = {tenant:String} AND programme_id = {programme:String}
) AS c ON c.user_id = b.user_id
WHERE ({digits:String} = '' OR position(replaceAll(m.member_no, '-', ''), {digits:String}) > 0)
  AND (m.member_no, b.user_id) > ({after_member:String}, {after_user:String})
ORDER BY if({order:String} = 'points', -b.points, 0), member_no, user_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32};

-- name: mileage.participants_count
-- How many participants a programme has, how many of them are at or over {goal} points, and how
-- many match {digits} (as mileage.participants filters them; '' = all).
SELECT count() AS participants, countIf(b.points >= {goal:Int64}) AS reached,
       countIf({digits:String} = '' OR position(replaceAll(m.member_no, '-', ''), {digits:String}) > 0) AS matching
FROM (
    SELECT user_id, sum(points) AS points
    FROM mileage_balances
    WHERE tenant_id = {tenant:String} AND programme_id = {programme:String}
    GROUP BY user_id
) AS b
LEFT JOIN (
    SELECT user_id, any(member_no) AS member_no FROM (
        SELECT user_id, member_no FROM mileage_members FINAL WHERE tenant_id = {tenant:String}
        UNION ALL
        SELECT user_id, member_no FROM mileage_ledger
        WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND member_no != ''
    )
    GROUP BY user_id
) AS m ON m.user_id = b.user_id;

-- name: mileage.cards_of_tenant
-- Who holds a card, per programme (the guards remember it so a card is issued once), a page at a
-- time after ({after_programme}, {after_user}) ('', '' first).
SELECT programme_id, user_id FROM mileage_cards FINAL
WHERE tenant_id = {tenant:String} AND programme_id >= {after_programme:String}
  AND (programme_id, user_id) > ({after_programme:String}, {after_user:String})
ORDER BY programme_id, user_id
LIMIT {limit:UInt32};

-- name: mileage.card
SELECT card_no, design_id, toUnixTimestamp64Milli(issued_at) AS issued_ms, toString(valid_until) AS valid_until
FROM mileage_cards FINAL
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String} AND user_id = {user:String}
LIMIT 1;

-- name: mileage.designs
-- The card designs, newest first (the image itself only with {with_image} = 1).
SELECT design_id, name, title, note, colour, if({with_image:UInt8} = 1, image_png, '') AS image_base64,
       image_type, image_sha256, status, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       ifNull(toUnixTimestamp64Milli(published_at), 0) AS published_ms, version
FROM mileage_card_designs FINAL
WHERE ({design:String} = '' OR design_id = {design:String})
ORDER BY created_at DESC, design_id;

-- name: mileage.session_awards
-- A session's scan awards: entries, and the residents they went to (the bench: one each).
SELECT count() AS entries, uniqExact(user_id) AS users FROM mileage_ledger
WHERE tenant_id = {tenant:String} AND source_id = {session:String} AND kind = 'scan';

-- name: mileage.programme_points
-- Every participant's points in a programme together, from the rollup.
SELECT sum(points) AS points FROM mileage_balances
WHERE tenant_id = {tenant:String} AND programme_id = {programme:String};
