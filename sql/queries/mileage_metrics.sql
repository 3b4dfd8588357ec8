-- Named queries of the mileage figures (metrics/mileage.ts). They read the programmes, the rollups
-- of migration 0048 (mileage_member_months, mileage_points_per_day) and the cards, never the ledger;
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
-- Per tenant and month x of {months} (first days, ascending): participants at x's end (累計 ≥ 1 pt),
-- new participants (first entry in x), active residents (an award in x), residents at or over the
-- goal at x's end and those who reached it in x, points and awards in x. A participant's state holds
-- from a month with entries to the next one (next_month); {goals} is the goal of each of {programmes}.
SELECT tenant_id, toString(x) AS month,
       countIf(cum >= 1) AS participants,
       countIf(cum >= 1 AND first_month = x) AS new_participants,
       countIf(m = x AND m_awards > 0) AS active,
       countIf(goal > 0 AND cum >= goal) AS reached_goal,
       countIf(m = x AND goal > 0 AND cum >= goal AND cum - m_points < goal) AS reached_goal_new,
       sumIf(m_points, m = x) AS points,
       sumIf(m_awards, m = x) AS awards
FROM
(
    SELECT tenant_id, user_id, m, m_points, m_awards, goal,
           sum(m_points) OVER (PARTITION BY tenant_id, programme_id, user_id ORDER BY m
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
           leadInFrame(m, 1, toDate('2149-06-01')) OVER (PARTITION BY tenant_id, programme_id, user_id ORDER BY m
                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS next_month,
           min(m) OVER (PARTITION BY tenant_id, programme_id, user_id) AS first_month
    FROM
    (
        SELECT tenant_id, programme_id, user_id, month AS m,
               sum(points) AS m_points, sum(awards) AS m_awards,
               toInt64({goals:Array(UInt32)}[indexOf({programmes:Array(String)}, programme_id)]) AS goal
        FROM mileage_member_months
        WHERE tenant_id IN {tenants:Array(String)} AND programme_id IN {programmes:Array(String)}
          AND month <= arrayMax({months:Array(Date)})
        GROUP BY tenant_id, programme_id, user_id, month
    )
)
ARRAY JOIN {months:Array(Date)} AS x
WHERE m <= x AND x < next_month
GROUP BY tenant_id, x
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
SELECT tenant_id, toString(d) AS day,
       countIf(toDate(issued_at, 'Asia/Tokyo') <= d AND valid_until >= d) AS valid
FROM mileage_cards FINAL
ARRAY JOIN {days:Array(Date)} AS d
WHERE tenant_id IN {tenants:Array(String)}
GROUP BY tenant_id, d
ORDER BY tenant_id, d;
