import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { batchLines, idsOfLines } from '../../delivery/audience-batches.ts';
import { type AudienceSource, readAudiencePage } from '../../delivery/fan-out/audience-page.ts';
import type { DeliveryRecord } from '../../delivery/store.ts';

// The audience's next page for the cases that need no ClickHouse: test devices, and a segment whose
// window of friends is empty (the segment query is never run).
function delivery(audience: DeliveryRecord['audience']): DeliveryRecord {
  return { tenantId: 't1', id: 'd1', audience } as DeliveryRecord;
}

/** ClickHouse must not be reached in these cases. */
const noClickHouse = new Proxy({} as ClickHouseClient, {
  get: () => {
    throw new Error('ClickHouse was queried');
  },
});

function source(devices: string[], window: Array<{ n: string; upto: string }> = []) {
  const calls: Array<{ name: string; params: Record<string, unknown> }> = [];
  const src: AudienceSource = {
    ch: noClickHouse,
    store: {
      testDevices: async (tenantId: string) => {
        expect(tenantId).toBe('t1');
        return devices.map((userId) => ({ userId, label: userId }));
      },
      rows: async <T>(name: string, params: Record<string, unknown>) => {
        calls.push({ name, params });
        return window as T[];
      },
    },
  };
  return { src, calls };
}

describe('audience page', () => {
  it('test devices: every device after the cursor in user id order, in one page that is the last', async () => {
    const { src } = source(['U3', 'U1', 'U2']);
    const page = await readAudiencePage(src, delivery({ type: 'test' }), '', 500);
    expect(page).toEqual({ lines: batchLines(['U1', 'U2', 'U3']), count: 3, upto: 'U3', done: true });
    expect(idsOfLines(page.lines)).toEqual(['U1', 'U2', 'U3']);
  });

  it('test devices after a cursor (a restart) skip those already cut', async () => {
    const { src } = source(['U3', 'U1', 'U2']);
    const page = await readAudiencePage(src, delivery({ type: 'test' }), 'U1', 500);
    expect(idsOfLines(page.lines)).toEqual(['U2', 'U3']);
    expect(page.count).toBe(2);
    expect(page.upto).toBe('U3');
  });

  it('no test device left: an empty last page that keeps the cursor', async () => {
    const { src } = source(['U1']);
    const page = await readAudiencePage(src, delivery({ type: 'test' }), 'U1', 500);
    expect(page).toEqual({ lines: Buffer.alloc(0), count: 0, upto: 'U1', done: true });
  });

  it('more test devices than a batch: cut into batches of 500', async () => {
    const ids = Array.from({ length: 501 }, (_, i) => `U${String(i).padStart(4, '0')}`);
    const { src } = source([...ids].reverse());
    const page = await readAudiencePage(src, delivery({ type: 'test' }), '', 10);
    expect(page.count).toBe(501);
    expect(
      page.lines
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    ).toEqual(['500', '1']);
  });

  it('a segment whose window of friends is empty: the last page, the segment never queried', async () => {
    const { src, calls } = source([], [{ n: '0', upto: '' }]);
    const d = delivery({ type: 'segment', condition: { attr: 'gender', op: 'in', values: ['female'] } });
    const page = await readAudiencePage(src, d, 'U9', 1000);
    expect(page).toEqual({ lines: Buffer.alloc(0), count: 0, upto: 'U9', done: true });
    expect(calls).toEqual([{ name: 'delivery.audience_window', params: { tenant: 't1', after: 'U9', limit: 1000 } }]);
  });
});
