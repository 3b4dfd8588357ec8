import { describe, expect, it } from 'vitest';
import { batchLines, idsOfLines, type Page } from '../../delivery/audience-batches.ts';
import { bucketOf as fromFanOut } from '../../delivery/fan-out.ts';
import type { Payload } from '../../delivery/fan-out/options.ts';
import { bucketOf, TrackedLinks, type TrackedLinksDeps } from '../../delivery/fan-out/tracked-links.ts';
import { keys } from '../../delivery/redis-state.ts';
import type { DeliveryRecord } from '../../delivery/store.ts';

// Click buckets and tracked links without Redis or ClickHouse: a hash in memory stands for the
// delivery's links hash, a list for the stored link rows.
describe('bucketOf', () => {
  it('age: the birth decade of the birth year', () => {
    expect(bucketOf('age', ['1987'])).toBe('1980');
    expect(bucketOf('age', ['1990'])).toBe('1990');
    expect(bucketOf('age', ['2009', '1950'])).toBe('2000');
  });

  it('age: a value that is not a year counts as unknown', () => {
    expect(bucketOf('age', ['19x7'])).toBe('unknown');
    expect(bucketOf('age', ['1987.5'])).toBe('unknown');
  });

  it('other attributes: the first value as it is', () => {
    expect(bucketOf('gender', ['female', 'male'])).toBe('female');
    expect(bucketOf('residence', ['松江市'])).toBe('松江市');
  });

  it('no value: unknown', () => {
    expect(bucketOf('gender', undefined)).toBe('unknown');
    expect(bucketOf('gender', [])).toBe('unknown');
    expect(bucketOf('age', [''])).toBe('unknown');
  });

  it('is still exported by delivery/fan-out.ts', () => {
    expect(fromFanOut).toBe(bucketOf);
  });
});

function fakes(attrs: Record<string, string[]> = {}) {
  const hashes = new Map<string, Map<string, string>>();
  const stored: Array<Record<string, unknown>> = [];
  const queries: Array<{ name: string; params: Record<string, unknown> }> = [];
  const deps: TrackedLinksDeps = {
    redis: {
      hsetnx: async (key: string, field: string, value: string | number | Buffer) => {
        let h = hashes.get(key);
        if (!h) hashes.set(key, (h = new Map()));
        if (h.has(field)) return 0;
        h.set(field, String(value));
        return 1;
      },
      hgetall: async (key: string) => Object.fromEntries(hashes.get(key) ?? []),
    } as unknown as TrackedLinksDeps['redis'],
    store: {
      rows: async <T>(name: string, params: Record<string, unknown>) => {
        queries.push({ name, params });
        return Object.entries(attrs).map(([user_id, values]) => ({ user_id, values })) as T[];
      },
      putLinks: async (rows: Array<Record<string, unknown>>) => {
        stored.push(...rows);
      },
    } as unknown as TrackedLinksDeps['store'],
    publicUrl: () => 'https://tayori.example/',
  };
  return { deps, hashes, stored, queries };
}

function delivery(over: Partial<DeliveryRecord>): DeliveryRecord {
  return { tenantId: 't1', id: 'd1', links: [], clickBucket: '', ...over } as DeliveryRecord;
}

function page(ids: string[]): Page {
  return { lines: batchLines(ids), count: ids.length, upto: ids.at(-1)!, done: false };
}

const payload = (links: string[]): Payload => ({
  tenantId: 't1',
  messages: [
    { type: 'text', text: 'a {{link:0}} b {{link:1}}' },
    { type: 'sticker', packageId: '1', stickerId: '2' },
  ] as Payload['messages'],
  notificationDisabled: true,
  unit: 'unit1',
  links,
});

describe('tracked links', () => {
  it('without tracked links a page is one group, its lines as they are, and nothing is stored', async () => {
    const { deps, stored, queries } = fakes();
    const p = page(['U1', 'U2']);
    const groups = await new TrackedLinks(deps).buckets(delivery({}), p, '');
    expect([...groups.keys()]).toEqual([undefined]);
    expect(groups.get(undefined)).toBe(p.lines);
    expect(stored).toEqual([]);
    expect(queries).toEqual([]);
  });

  it('links without a click split: one bucket, a token per link, stored once', async () => {
    const { deps, hashes, stored } = fakes();
    const links = new TrackedLinks(deps);
    const d = delivery({ links: ['https://a.example', 'https://b.example'] });
    const groups = await links.buckets(d, page(['U1', 'U2']), '');
    expect([...groups.keys()]).toEqual(['']);
    expect(idsOfLines(groups.get('')!)).toEqual(['U1', 'U2']);
    const tokens = hashes.get(keys.links('d1'))!;
    expect([...tokens.keys()]).toEqual(['0|', '1|']);
    expect(stored.map((r) => [r.link_no, r.bucket, r.url, r.token])).toEqual([
      [0, '', 'https://a.example', tokens.get('0|')],
      [1, '', 'https://b.example', tokens.get('1|')],
    ]);
    // a later page (or a restart) keeps the tokens already given out
    await links.buckets(d, page(['U3']), 'U2');
    expect(stored).toHaveLength(2);
  });

  it('split by age: residents grouped by birth decade (unknown without a year), read for the page window', async () => {
    const { deps, stored, queries } = fakes({ U1: ['1985'], U2: ['1972'], U3: ['1981'] });
    const d = delivery({ links: ['https://a.example'], clickBucket: 'age' });
    const groups = await new TrackedLinks(deps).buckets(d, page(['U1', 'U2', 'U3', 'U4']), 'U0');
    expect(queries).toEqual([
      { name: 'delivery.bucket_attrs', params: { tenant: 't1', item: 'birth_year', after: 'U0', upto: 'U4' } },
    ]);
    expect(Object.fromEntries([...groups].map(([k, v]) => [k, idsOfLines(v)]))).toEqual({
      '1980': ['U1', 'U3'],
      '1970': ['U2'],
      unknown: ['U4'],
    });
    expect(stored.map((r) => r.bucket)).toEqual(['1980', '1970', 'unknown']);
  });

  it("messages get each bucket's redirect URLs; other messages and untracked deliveries are unchanged", async () => {
    const { deps, hashes } = fakes();
    const links = new TrackedLinks(deps);
    const d = delivery({ links: ['https://a.example', 'https://b.example'], clickBucket: 'gender' });
    await links.linkTokens(d, ['female']);
    const tokens = hashes.get(keys.links('d1'))!;
    const p = payload(d.links);
    const out = await links.messagesFor('d1', p, 'female');
    expect(out[0]).toEqual({
      type: 'text',
      text: `a https://tayori.example/r/${tokens.get('0|female')} b https://tayori.example/r/${tokens.get('1|female')}`,
    });
    expect(out[1]).toBe(p.messages[1]);
    expect(await links.messagesFor('d1', p, undefined)).toBe(p.messages);
    const untracked = payload([]);
    expect(await links.messagesFor('d1', untracked, 'female')).toBe(untracked.messages);
  });

  it('the body after `to` is serialised once per delivery and bucket', async () => {
    const { deps } = fakes();
    const links = new TrackedLinks(deps);
    const p = payload([]);
    const tail = await links.tail('d1', p, undefined);
    expect(await links.tail('d1', p, undefined)).toBe(tail);
    expect(await links.tail('d2', p, undefined)).not.toBe(tail);
    const body = JSON.parse(`{"to":["U1"${tail.toString()}`);
    expect(body).toEqual({
      to: ['U1'],
      messages: p.messages,
      notificationDisabled: true,
      customAggregationUnits: ['unit1'],
    });
  });
});
