/**
 * Click buckets and tracked links: a page's recipients grouped by the attribute the delivery splits
 * clicks by, a redirect token per (link, bucket), and the multicast body after `to` with each
 * bucket's links filled in (serialised once per delivery and bucket).
 */
import { randomBytes } from 'node:crypto';
import type { messagingApi } from '@line/bot-sdk';
import type { Redis } from '../../core/redis.ts';
import { z } from '../../core/zod.ts';
import { batchLines, idsOfLines, type Page } from '../audience-batches.ts';
import type { DeliveryMessage } from '../messages.ts';
import { multicastTail } from '../multicast-http.ts';
import { keys } from '../redis-state.ts';
import type { DeliveryRecord, DeliveryStore } from '../store.ts';
import type { Payload } from './options.ts';

/** The bucket a resident's clicks count in, from the attribute the delivery splits by. */
export function bucketOf(by: string, values: string[] | undefined): string {
  const v = values?.[0];
  if (!v) return 'unknown';
  if (by === 'age') {
    const y = Number(v);
    return Number.isInteger(y) ? String(Math.floor(y / 10) * 10) : 'unknown';
  }
  return v;
}

const attrRow = z.object({ user_id: z.string(), values: z.array(z.string()) });

export interface TrackedLinksDeps {
  redis: Pick<Redis, 'hsetnx' | 'hgetall'>;
  store: Pick<DeliveryStore, 'rows' | 'putLinks'>;
  publicUrl?: () => string | undefined;
}

export class TrackedLinks {
  readonly #d: TrackedLinksDeps;
  /** delivery id + bucket → the JSON body after `to` (messages with their tracked links filled in). */
  readonly #tails = new Map<string, Buffer>();

  constructor(deps: TrackedLinksDeps) {
    this.#d = deps;
  }

  /**
   * The page's user ids grouped by click bucket (one group, undefined, when links are not
   * tracked), with a redirect token per (link, bucket) stored before any batch that uses it.
   */
  async buckets(d: DeliveryRecord, page: Page, after: string): Promise<Map<string | undefined, Buffer>> {
    if (d.links.length === 0) return new Map([[undefined, page.lines]]);
    const groups = new Map<string, string[]>();
    const userIds = idsOfLines(page.lines);
    if (!d.clickBucket) groups.set('', userIds);
    else {
      const item = d.clickBucket === 'age' ? 'birth_year' : d.clickBucket;
      const rows = await this.#d.store.rows(
        'delivery.bucket_attrs',
        { tenant: d.tenantId, item, after, upto: page.upto },
        attrRow,
      );
      const byUser = new Map(rows.map((r) => [r.user_id, r.values]));
      for (const u of userIds) {
        const k = bucketOf(d.clickBucket, byUser.get(u));
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(u);
      }
    }
    await this.linkTokens(d, [...groups.keys()]);
    return new Map([...groups].map(([k, v]) => [k, batchLines(v)]));
  }

  async linkTokens(d: DeliveryRecord, buckets: string[]): Promise<void> {
    const fresh: Array<{
      token: string;
      tenant_id: string;
      delivery_id: string;
      link_no: number;
      bucket: string;
      url: string;
    }> = [];
    for (const bucket of buckets) {
      for (let n = 0; n < d.links.length; n++) {
        const token = randomBytes(12).toString('base64url');
        if ((await this.#d.redis.hsetnx(keys.links(d.id), `${n}|${bucket}`, token)) === 1) {
          fresh.push({ token, tenant_id: d.tenantId, delivery_id: d.id, link_no: n, bucket, url: d.links[n]! });
        }
      }
    }
    await this.#d.store.putLinks(fresh);
  }

  /** Messages with tracked links replaced by their redirect URLs for this bucket. */
  async messagesFor(id: string, payload: Payload, bucket: string | undefined): Promise<DeliveryMessage[]> {
    if (payload.links.length === 0 || bucket === undefined) return payload.messages;
    const tokens = await this.#d.redis.hgetall(keys.links(id));
    const base = (this.#d.publicUrl?.() ?? '').replace(/\/$/, '');
    return payload.messages.map((m) =>
      m.type === 'text'
        ? {
            ...m,
            text: m.text.replace(
              /\{\{link:(\d+)\}\}/g,
              (_, n: string) => `${base}/r/${tokens[`${n}|${bucket}`] ?? ''}`,
            ),
          }
        : m,
    );
  }

  /** The multicast body after `to`'s ids, serialised once per (delivery, bucket). */
  async tail(id: string, payload: Payload, bucket: string | undefined): Promise<Buffer> {
    const cacheKey = `${id}|${bucket ?? '-'}`;
    const hit = this.#tails.get(cacheKey);
    if (hit) return hit;
    const messages = await this.messagesFor(id, payload, bucket);
    const tail = multicastTail({
      messages: messages as messagingApi.Message[],
      notificationDisabled: payload.notificationDisabled,
      customAggregationUnits: [payload.unit],
    });
    if (this.#tails.size > 1000) this.#tails.clear();
    this.#tails.set(cacheKey, tail);
    return tail;
  }
}
