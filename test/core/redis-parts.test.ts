import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFromParts, type Redis } from '../../core/redis.ts';
import { harness, type Harness } from '../helpers/index.ts';

describe('setFromParts: a value written from its parts, without copies', () => {
  let h: Harness;
  let redis: Redis;

  beforeAll(async () => {
    h = await harness({ prefix: 'tayori-redis-parts-', clickhouse: false, redis: true });
    redis = h.redis.client;
  });

  afterAll(() => h?.close());

  it('stores the parts joined, with its expiry, in order with the commands around it', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const parts = [Buffer.from('0\t-\n'), Buffer.alloc(0), big, Buffer.from('\r\n"end"')];
    const [before, written, after] = await Promise.all([
      redis.set('k:before', 'a'),
      setFromParts(redis, 'k:parts', parts, 60),
      redis.get('k:before'),
    ]);
    expect([before, written, after]).toEqual(['OK', 'OK', 'a']);
    expect((await redis.getBuffer('k:parts'))!.equals(Buffer.concat(parts))).toBe(true);
    const ttl = await redis.ttl('k:parts');
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('keeps many values written in one go apart, including keys and values of non-ASCII text', async () => {
    const values = Array.from({ length: 50 }, (_, i) => [Buffer.from(`チャンク${i}\n`), randomBytes(1000 + i * 997)]);
    await Promise.all(values.map((parts, i) => setFromParts(redis, `k:配信:${i}`, parts, 60)));
    const stored = await redis.mgetBuffer(values.map((_, i) => `k:配信:${i}`));
    stored.forEach((v, i) => expect(v!.equals(Buffer.concat(values[i]!)), `value ${i}`).toBe(true));
  });

  it("rejects with Redis's error (a wrong expiry) and leaves the connection usable", async () => {
    await expect(setFromParts(redis, 'k:bad', [Buffer.from('x')], 0)).rejects.toThrow(/invalid expire/i);
    expect(await redis.exists('k:bad')).toBe(0);
    expect(await redis.ping()).toBe('PONG');
  });
});
