/**
 * The audience queries cut pages into multicast batch lines inside ClickHouse: read page after
 * page along the cursor, they give every friend once, in user_id order, 500 per batch, as valid
 * JSON whatever the id holds (quotes, backslashes, control characters, commas, slashes, non-ASCII), never a
 * resident who blocked; a segment's range gives exactly the residents its condition selects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { chDateTime } from '../../core/time.ts';
import { compileCondition } from '../../delivery/audience.ts';
import { BATCH_SIZE, idsOfLines, readBatchLines, summarize } from '../../delivery/audience-batches.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
const TENANT = '24201';
let ch: ClickHouseClient;
const odd = [
  'U"quoted"',
  'back\\slash',
  'tab\there',
  'new\nline',
  'a,b',
  '日本語のID',
  ' space',
  'a/b',
  'del\u007f',
  'nul\u0000x',
];
const plain = Array.from({ length: 1203 }, (_, i) => `U${(i * 7919).toString(16).padStart(32, '0')}`);
const blocked = plain.filter((_, i) => i % 100 === 5);
const friends = [...plain.filter((u) => !blocked.includes(u)), ...odd].sort();

beforeAll(async () => {
  h = await harness();
  ch = h.ch;
  const at = Date.parse('2026-01-01T00:00:00Z');
  await ch.insert({
    table: 'resident_states',
    format: 'JSONEachRow',
    values: [
      ...[...plain, ...odd].map((u) => ({
        tenant_id: TENANT,
        user_id: u,
        is_friend: 1,
        changed_at: chDateTime(at),
        version: 1,
      })),
      ...blocked.map((u) => ({
        tenant_id: TENANT,
        user_id: u,
        is_friend: 0,
        changed_at: chDateTime(at + 1000),
        version: 2,
      })),
      { tenant_id: '24202', user_id: plain[0], is_friend: 1, changed_at: chDateTime(at), version: 1 },
    ],
  });
  // every third friend (and two odd ids) registered gender female
  const female = [...friends.filter((_, i) => i % 3 === 0), odd[0]!, odd[3]!];
  await ch.insert({
    table: 'resident_attributes',
    format: 'JSONEachRow',
    values: [...new Set(female)].map((u) => ({
      tenant_id: TENANT,
      user_id: u,
      item: 'gender',
      values: ['female'],
      answered_at: chDateTime(at),
      version: 1,
      is_deleted: 0,
    })),
  });
}, 60_000);

afterAll(() => h?.close());

describe('audience batch lines from ClickHouse', () => {
  it('gives every friend once, in order, along the cursor, 500 per batch', async () => {
    const back: string[] = [];
    let after = '';
    let pages = 0;
    for (;;) {
      const lines = await readBatchLines(ch, 'delivery.audience_page', { tenant: TENANT, after, limit: 700 });
      const { count, batches, last } = summarize(lines);
      pages++;
      const ids = idsOfLines(lines);
      expect(ids.length).toBe(count);
      expect(batches).toBe(Math.ceil(count / BATCH_SIZE));
      for (const line of lines.toString('utf8').trimEnd().split('\n').filter(Boolean)) {
        const n = Number(line.slice(0, line.indexOf('\t')));
        expect(n).toBeLessThanOrEqual(BATCH_SIZE);
      }
      back.push(...ids);
      if (count < 700) break;
      after = last!;
    }
    expect(pages).toBe(Math.ceil((friends.length + 1) / 700));
    expect(back).toEqual(friends);
  });

  it('escapes each kind of id even when it is the only one in its batch that needs it', async () => {
    const at = chDateTime(Date.parse('2026-01-01T00:00:00Z'));
    await ch.insert({
      table: 'resident_states',
      format: 'JSONEachRow',
      values: odd.flatMap((u, i) =>
        [u, plain[i]!].map((id) => ({ tenant_id: `odd${i}`, user_id: id, is_friend: 1, changed_at: at, version: 1 })),
      ),
    });
    for (const [i, u] of odd.entries()) {
      const lines = await readBatchLines(ch, 'delivery.audience_page', { tenant: `odd${i}`, after: '', limit: 700 });
      expect(idsOfLines(lines)).toEqual([u, plain[i]!].sort());
    }
  });

  it('gives an empty page after the last friend', async () => {
    const lines = await readBatchLines(ch, 'delivery.audience_page', {
      tenant: TENANT,
      after: friends.at(-1)!,
      limit: 700,
    });
    expect(lines.length).toBe(0);
  });

  it('cuts a segment’s range into batches of the residents it selects', async () => {
    const c = compileCondition({ attr: 'gender', op: 'in', values: ['female'] }, { range: true });
    const lines = await readBatchLines(
      ch,
      'delivery.audience_segment_range',
      { tenant: TENANT, after: '', upto: friends.at(-1)!, ...c.params },
      c.sql,
    );
    const expected = [...new Set([...friends.filter((_, i) => i % 3 === 0), odd[0]!, odd[3]!])].sort();
    expect(idsOfLines(lines)).toEqual(expected);
    expect(summarize(lines).count).toBe(expected.length);
  });
});
