/** delivery's store: the self-check's count of deliveries that failed in the last hour (ops/ monitor source). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chDateTime } from '../../core/time.ts';
import { DeliveryStore } from '../../delivery/store.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ clickhouse: true });
}, 120_000);
afterAll(() => h?.close());

describe('failedSince', () => {
  it('counts failed deliveries and finished ones with refused batches, changed in the window; not test sends', async () => {
    const now = Date.now();
    const row = (id: string, kind: string, status: string, failed: number, updatedMs: number) => ({
      tenant_id: '24201',
      delivery_id: id,
      kind,
      title: id,
      messages: '[]',
      audience: '{"type":"all"}',
      audience_label: 'すべての友だち',
      notification_disabled: 0,
      aggregation_unit: '',
      status,
      scheduled_at: null,
      started_at: null,
      finished_at: null,
      targets: 10,
      batches: 1,
      accepted: failed ? 0 : 10,
      failed,
      error: '',
      created_at: chDateTime(updatedMs),
      updated_at: chDateTime(updatedMs),
      version: updatedMs,
      is_deleted: 0,
    });
    await h.ch.insert({
      table: 'deliveries',
      format: 'JSONEachRow',
      values: [
        row('failed-now', 'normal', 'failed', 1, now - 60_000),
        row('partly-now', 'normal', 'done', 2, now - 120_000),
        row('fine-now', 'normal', 'done', 0, now - 60_000),
        row('failed-old', 'normal', 'failed', 1, now - 3 * 3_600_000),
        row('test-failed', 'test', 'failed', 1, now - 60_000),
      ],
    });
    const store = new DeliveryStore(h.ch);
    expect(await store.failedSince(now - 3_600_000)).toBe(2);
    expect(await store.failedSince(now - 4 * 3_600_000)).toBe(3);
  });
});
