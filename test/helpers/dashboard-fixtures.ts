import type { ClickHouseClient } from '../../core/clickhouse.ts';

/**
 * Known figures for the dashboard tests, written straight into the tables the dashboard reads
 * (LINE's Insight tables and the webhook rollup), so every expected number is computed by hand.
 */
export const MONTH = '2025-06';

export async function seedFigures(ch: ClickHouseClient): Promise<void> {
  const now = '2025-07-01 00:00:00.000';
  const followers = [
    // Tsu: end of May and end of June
    { tenant_id: '24201', day: '2025-05-31', followers: 1000, targeted_reaches: 900, blocks: 50 },
    { tenant_id: '24201', day: '2025-06-29', followers: 1100, targeted_reaches: 950, blocks: 60 },
    { tenant_id: '24201', day: '2025-06-30', followers: 1200, targeted_reaches: 1000, blocks: 66 },
    // Yokkaichi: June only
    { tenant_id: '24202', day: '2025-06-30', followers: 2000, targeted_reaches: 1800, blocks: 100 },
    // the prefecture's own account: shown on the overview, never in the municipalities' totals
    { tenant_id: '24000', day: '2025-06-30', followers: 5000, targeted_reaches: 4500, blocks: 200 },
    // Kiho: under LINE's privacy threshold — LINE answered null
    { tenant_id: '24562', day: '2025-06-30', followers: null, targeted_reaches: null, blocks: null },
  ].map((r) => ({ ...r, status: 'ready', fetched_at: now, version: 1 }));
  await ch.insert({ table: 'insight_followers_daily', values: followers, format: 'JSONEachRow' });

  const webhooks = [
    { tenant_id: '24201', day: '2025-06-01', follows: 30, unblocks: 2, unfollows: 5 },
    { tenant_id: '24201', day: '2025-06-15', follows: 20, unblocks: 0, unfollows: 3 },
    { tenant_id: '24201', day: '2025-05-10', follows: 7, unblocks: 0, unfollows: 1 },
    { tenant_id: '24202', day: '2025-06-03', follows: 11, unblocks: 1, unfollows: 4 },
  ].map((r) => ({
    ...r,
    postbacks: 0,
    messages: 0,
    events: r.follows + r.unblocks + r.unfollows,
    users: 1,
    computed_at: now,
  }));
  await ch.insert({ table: 'webhook_events_per_day', values: webhooks, format: 'JSONEachRow' });

  // Tsu delivered twice in June (one with every figure, one under the privacy threshold).
  const tracked = [
    { tenant_id: '24201', kind: 'request_id', key: 'req-1', sent_at: '2025-06-05 01:00:00.000' },
    { tenant_id: '24201', kind: 'request_id', key: 'req-2', sent_at: '2025-06-20 01:00:00.000' },
  ].map((r) => ({ ...r, track_until: '2025-07-05 01:00:00.000', registered_at: r.sent_at, version: 1, is_deleted: 0 }));
  await ch.insert({ table: 'insight_tracked_deliveries', values: tracked, format: 'JSONEachRow' });
  const stats = [
    { key: 'req-1', sent_at: '2025-06-05 01:00:00.000', delivered: 1000, unique_impression: 600, unique_click: 80 },
    { key: 'req-2', sent_at: '2025-06-20 01:00:00.000', delivered: 15, unique_impression: null, unique_click: null },
  ].map((r) => ({
    tenant_id: '24201',
    kind: 'request_id',
    fetched_at: now,
    status: 'ready',
    unique_media_played: null,
    unique_media_played_100_percent: null,
    impression: null,
    click: null,
    media_played: null,
    messages: [],
    clicks: [],
    response: '{}',
    ...r,
  }));
  await ch.insert({ table: 'insight_message_stats', values: stats, format: 'JSONEachRow' });

  // A multicast tracked by its aggregation unit: LINE gives no delivered count, the record does.
  await ch.insert({
    table: 'insight_tracked_deliveries',
    values: [
      {
        tenant_id: '24201',
        kind: 'aggregation_unit',
        key: 'unit-1',
        sent_at: '2025-06-25 01:00:00.000',
        track_until: '2025-07-09 01:00:00.000',
        registered_at: now,
        version: 1,
        is_deleted: 0,
      },
    ],
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'insight_message_stats',
    values: [
      {
        tenant_id: '24201',
        kind: 'aggregation_unit',
        key: 'unit-1',
        sent_at: '2025-06-25 01:00:00.000',
        fetched_at: now,
        status: 'ready',
        delivered: null,
        unique_impression: 300,
        unique_click: 30,
        unique_media_played: null,
        unique_media_played_100_percent: null,
        impression: null,
        click: null,
        media_played: null,
        messages: [],
        clicks: [],
        response: '{}',
      },
    ],
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'deliveries',
    values: [
      {
        tenant_id: '24201',
        delivery_id: 'd-unit-1',
        kind: 'normal',
        title: '6月の健康だより',
        messages: '[]',
        audience: '{"type":"all"}',
        audience_label: 'すべての友だち',
        aggregation_unit: 'unit-1',
        status: 'done',
        targets: 510,
        batches: 2,
        accepted: 500,
        failed: 10,
        created_at: now,
        updated_at: now,
        version: 1,
        is_deleted: 0,
      },
      {
        // a broadcast to every friend, tracked by LINE's request id (req-2 was sent from LINE's own manager: no record)
        tenant_id: '24201',
        delivery_id: 'd-req-1',
        kind: 'normal',
        title: '6月の防災だより',
        messages: '[]',
        audience: '{"type":"all"}',
        audience_label: 'すべての友だち',
        send_method: 'broadcast',
        request_id: 'req-1',
        status: 'done',
        targets: 1000,
        batches: 1,
        accepted: 1000,
        failed: 0,
        created_at: now,
        updated_at: now,
        version: 1,
        is_deleted: 0,
      },
    ],
    format: 'JSONEachRow',
  });

  // Residents' registered attributes in Tsu: three friends and one who blocked.
  const residents = [
    ['Ua', 1, 'female'],
    ['Ub', 1, 'female'],
    ['Uc', 1, 'male'],
    ['Ud', 0, 'female'],
  ] as const;
  await ch.insert({
    table: 'resident_states',
    values: residents.map(([u, f]) => ({ tenant_id: '24201', user_id: u, is_friend: f, changed_at: now, version: 1 })),
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'resident_attributes',
    values: [
      ...residents.map(([u, , g]) => ({
        tenant_id: '24201',
        user_id: u,
        item: 'gender',
        values: [g],
        answered_at: now,
        version: 1,
        is_deleted: 0,
      })),
      // by id, as delivery/ keeps them: an area, interests at three levels (two areas under one middle), an extra item
      ...(
        [
          ['Ua', 'residence', ['a1']],
          ['Ua', 'interests', ['c1/c1_1/a1', 'c1/c1_1/a2']],
          ['Ua', 'birth_year', ['1980']],
          ['Ub', 'interests', ['c1']],
          ['Ub', 'x:i1', ['o1']],
          ['Ud', 'residence', ['a1']],
        ] as const
      ).map(([u, item, values]) => ({
        tenant_id: '24201',
        user_id: u,
        item,
        values,
        answered_at: now,
        version: 1,
        is_deleted: 0,
      })),
    ],
    format: 'JSONEachRow',
  });
  // their names, as delivery/ keeps them
  await ch.insert({
    table: 'delivery_categories',
    values: [
      ['a1', '@area', '久居'],
      ['c1', '', '防災'],
      ['c1_1', 'c1', '気象・警報'],
    ].map(([id, parent, name], i) => ({
      tenant_id: '24201',
      category_id: id,
      parent_id: parent,
      name,
      sort: i,
      retired: 0,
      updated_at: now,
      version: 1,
      is_deleted: 0,
    })),
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'delivery_attribute_items',
    values: [
      {
        tenant_id: '24201',
        item_id: 'i1',
        label: '健康マイレージ',
        multiple: 0,
        options: JSON.stringify([{ id: 'o1', label: '参加している' }]),
        sort: 0,
        retired: 0,
        updated_at: now,
        version: 1,
        is_deleted: 0,
      },
    ],
    format: 'JSONEachRow',
  });
}
