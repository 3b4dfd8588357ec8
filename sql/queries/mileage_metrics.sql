-- Named queries of the mileage figures (metrics/mileage.ts). They read the programmes, the rollups
-- of migrations 0048 and 0049 (mileage_points_per_day, mileage_member_years) and the cards, never the ledger;
-- every one is scoped to the tenants asked for ({tenants}) and to the fiscal year's programmes.

-- name: mileage_metrics.programmes
-- The programmes of a fiscal year (2026 = 令和8年度, April to March).
SELECT tenant_id, programme_id, name, toString(starts_on) AS starts_on, toString(ends_on) AS ends_on,
       goal_points, card_valid_months
FROM mileage_programmes FINAL
WHERE tenant_id IN {tenants:Array(String)} AND fiscal_year = {fy:UInt16} AND is_deleted = 0
ORDER BY tenant_id, starts_on, programme_id;

-- name: mileage_metrics.activities
-- The programmes' activities (retired ones too: their points stay in the figures).
SELECT tenant_id, programme_id, activity_id, name, method, points, sort
FROM mileage_activities FINAL
WHERE tenant_id IN {tenants:Array(String)} AND programme_id IN {programmes:Array(String)} AND is_deleted = 0
ORDER BY tenant_id, programme_id, sort, name;

-- name: mileage_metrics.members_per_month
-- Per tenant and month x of {months} (the first {n} months of fiscal year {fy}, April first):
-- participants at x's end (累計 ≥ 1 pt), new participants (first entry in x), active residents (an
-- award in x), residents at or over the goal at x's end and those who reached it in x, points and
-- awards in x. Each participant is one row of mileage_member_years (twelve monthly sums, migration
-- 0049): its cumulative points are a running sum; the tenant sums its participants' arrays
-- (-ForEach, element by element). {goals} is the goal of each of {programmes}.
SELECT tenant_id, toString(x) AS month,
       participants, new_participants, active, reached_goal, reached_goal_new, points, awards
FROM
(
    SELECT tenant_id,
           sumForEach(arrayMap(c -> toUInt64(c >= 1), cum)) AS a_participants,
           sumForEach(arrayMap((c, i) -> toUInt64(c >= 1 AND first = i), cum, arrayEnumerate(cum))) AS a_new,
           sumForEach(arrayMap(w -> toUInt64(w > 0), aw)) AS a_active,
           sumForEach(arrayMap(c -> toUInt64(goal > 0 AND c >= goal), cum)) AS a_goal,
           sumForEach(arrayMap((c, p) -> toUInt64(goal > 0 AND c >= goal AND c - p < goal), cum, pt)) AS a_goal_new,
           sumForEach(pt) AS a_points,
           sumForEach(aw) AS a_awards
    FROM
    (
        SELECT tenant_id, goal,
               arraySlice(pts, 1, {n:UInt8}) AS pt,
               arraySlice(aws, 1, {n:UInt8}) AS aw,
               arrayCumSum(pt) AS cum,
               arrayFirstIndex(e -> e > 0, arraySlice(ents, 1, {n:UInt8})) AS first
        FROM
        (
            SELECT tenant_id, programme_id, user_id,
                   any(toInt64({goals:Array(UInt32)}[indexOf({programmes:Array(String)}, programme_id)])) AS goal,
                   sumForEachMerge(points) AS pts, sumForEachMerge(awards) AS aws, sumForEachMerge(entries) AS ents
            FROM mileage_member_years
            WHERE tenant_id IN {tenants:Array(String)} AND programme_id IN {programmes:Array(String)}
              AND fiscal_year = {fy:UInt16}
            GROUP BY tenant_id, programme_id, user_id
        )
    )
    GROUP BY tenant_id
)
ARRAY JOIN {months:Array(Date)} AS x, a_participants AS participants, a_new AS new_participants,
           a_active AS active, a_goal AS reached_goal, a_goal_new AS reached_goal_new,
           a_points AS points, a_awards AS awards
ORDER BY tenant_id, x;

-- name: mileage_metrics.points_by_month_activity
-- Per tenant, Tokyo month, activity and kind of entry: points and awards (entries with points > 0).
SELECT tenant_id, toString(toStartOfMonth(day)) AS month, activity_id, kind,
       sum(d.points) AS points, sum(d.awards) AS awards
FROM mileage_points_per_day AS d
WHERE tenant_id IN {tenants:Array(String)} AND programme_id IN {programmes:Array(String)}
  AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY tenant_id, month, activity_id, kind
ORDER BY tenant_id, month, activity_id, kind;

-- name: mileage_metrics.cards_issued_per_month
-- Cards of the programmes issued per Tokyo month.
SELECT tenant_id, toString(toStartOfMonth(toDate(issued_at, 'Asia/Tokyo'))) AS month, count() AS issued
FROM mileage_cards FINAL
WHERE tenant_id IN {tenants:Array(String)} AND programme_id IN {programmes:Array(String)}
GROUP BY tenant_id, month
ORDER BY tenant_id, month;

-- name: mileage_metrics.cards_valid_on
-- Per tenant and day d of {days}: cards (of any programme) issued by d (Tokyo) and valid on d.
SELECT tenant_id, toString(d) AS day, valid
FROM
(
    SELECT tenant_id,
           sumForEach(arrayMap(d -> toUInt64(toDate(issued_at, 'Asia/Tokyo') <= d AND valid_until >= d), {days:Array(Date)})) AS v
    FROM mileage_cards FINAL
    WHERE tenant_id IN {tenants:Array(String)}
    GROUP BY tenant_id
)
ARRAY JOIN {days:Array(Date)} AS d, v AS valid
ORDER BY tenant_id, d;
