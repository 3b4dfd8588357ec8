/**
 * The monthly availability: minutes up ÷ minutes measured, planned stops counted apart. A minute is
 * up when a self-check in it found the suite ready; a minute without a check (the suite itself not
 * running) is down unless the check before it, at most two minutes earlier, was up (a check that
 * slipped past a minute boundary). Measured from the first check ever (or the month's start) to the
 * month's end (or now).
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { tokyoMonthRange } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { OpsRecords } from './records.ts';

export const AVAILABILITY_TARGET = 99;
const MINUTE = 60_000;

export interface Availability {
  month: string;
  /** Minutes measured, planned stops excluded. */
  measuredMinutes: number;
  upMinutes: number;
  downMinutes: number;
  /** Minutes inside planned stops (not counted against the figure). */
  plannedMinutes: number;
  /** Percent with two decimals; null when nothing was measured. */
  percent: number | null;
  target: number;
  met: boolean | null;
}

export async function monthlyAvailability(
  ch: ClickHouseClient,
  records: OpsRecords,
  month: string,
  now = Date.now(),
): Promise<Availability> {
  const range = tokyoMonthRange(month);
  const [first] = await query(
    ch,
    'ops.first_check',
    {},
    z.object({ first_ms: z.coerce.number().nullable(), n: z.coerce.number() }),
  );
  const empty: Availability = {
    month,
    measuredMinutes: 0,
    upMinutes: 0,
    downMinutes: 0,
    plannedMinutes: 0,
    percent: null,
    target: AVAILABILITY_TARGET,
    met: null,
  };
  if (!first?.n || first.first_ms === null) return empty;
  const from = Math.floor(Math.max(range.from, first.first_ms) / MINUTE) * MINUTE;
  const to = Math.floor(Math.min(range.to, now) / MINUTE) * MINUTE;
  if (to <= from) return empty;
  const rows = await query(
    ch,
    'ops.check_minutes',
    { from: from - 2 * MINUTE, to },
    z.object({ minute: z.coerce.number(), up: z.coerce.number() }),
  );
  const up = new Map(rows.map((r) => [r.minute * 1000, r.up === 1]));
  const stops = (await records.list('stop')).map((s) => [Date.parse(s.startsAt), Date.parse(s.endsAt)] as const);
  let measured = 0;
  let upMinutes = 0;
  let planned = 0;
  let lastUpAt = -Infinity;
  for (let m = from - 2 * MINUTE; m < to; m += MINUTE) {
    const state = up.get(m);
    if (state === true) lastUpAt = m;
    if (m < from) continue;
    if (stops.some(([a, b]) => m >= a && m < b)) {
      planned++;
      continue;
    }
    measured++;
    if (state === true || (state === undefined && m - lastUpAt <= 2 * MINUTE)) upMinutes++;
  }
  const percent = measured ? Math.floor((upMinutes / measured) * 10_000) / 100 : null;
  return {
    month,
    measuredMinutes: measured,
    upMinutes,
    downMinutes: measured - upMinutes,
    plannedMinutes: planned,
    percent,
    target: AVAILABILITY_TARGET,
    met: percent === null ? null : percent >= AVAILABILITY_TARGET,
  };
}
