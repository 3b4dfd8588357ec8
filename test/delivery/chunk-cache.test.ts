import { describe, expect, it } from 'vitest';
import { batchLines, type CutChunk, cutChunks } from '../../delivery/audience-batches.ts';
import { CHUNK_CACHE_BYTES, CHUNK_CACHE_MS, CutChunkCache } from '../../delivery/fan-out/chunk-cache.ts';

// The in-memory copies of cut chunks, without Redis: bounded in bytes, dropped after their age.
function chunk(n: number, users: number): CutChunk {
  const ids = Array.from({ length: users }, (_, i) => `U${String(n).padStart(4, '0')}${String(i).padStart(6, '0')}`);
  return cutChunks(batchLines(ids), n * 100, n, undefined)[0]!;
}

describe('cut chunk cache', () => {
  it('defaults to 256 MB and ten minutes', () => {
    expect(CHUNK_CACHE_BYTES).toBe(256 * 1024 * 1024);
    expect(CHUNK_CACHE_MS).toBe(600_000);
  });

  it('keeps a chunk until it is taken, once, counting its bytes', () => {
    const cache = new CutChunkCache();
    const c = chunk(0, 1200);
    expect(cache.fits(c)).toBe(true);
    cache.add('k0', c, 1000);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(c.lines.length);
    expect(cache.take('k0')).toBe(c);
    expect(cache.take('k0')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('does not fit a chunk past its bound in bytes; taking one makes room again', () => {
    const a = chunk(0, 500);
    const b = chunk(1, 500);
    const cache = new CutChunkCache(a.lines.length + b.lines.length - 1, CHUNK_CACHE_MS);
    expect(cache.fits(a)).toBe(true);
    cache.add('a', a, 0);
    expect(cache.fits(b)).toBe(false);
    cache.take('a');
    expect(cache.fits(b)).toBe(true);
  });

  it('a chunk exactly at the bound fits', () => {
    const a = chunk(0, 10);
    const cache = new CutChunkCache(a.lines.length, CHUNK_CACHE_MS);
    expect(cache.fits(a)).toBe(true);
  });

  it('expires the chunks kept for its age or longer, oldest first, and keeps the younger ones', () => {
    const cache = new CutChunkCache(CHUNK_CACHE_BYTES, 1000);
    const [a, b, c] = [chunk(0, 10), chunk(1, 20), chunk(2, 30)];
    cache.add('a', a, 0);
    cache.add('b', b, 500);
    cache.add('c', c, 900);
    cache.expire(999);
    expect(cache.size).toBe(3);
    cache.expire(1500);
    expect(cache.take('a')).toBeUndefined();
    expect(cache.take('b')).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(c.lines.length);
    expect(cache.take('c')).toBe(c);
  });

  it('expiry stops at the first young chunk (they are added in time order)', () => {
    const cache = new CutChunkCache(CHUNK_CACHE_BYTES, 1000);
    cache.add('young', chunk(0, 10), 2000);
    cache.add('old', chunk(1, 10), 0); // never happens in the fan-out: shows where expiry stops
    cache.expire(2500);
    expect(cache.size).toBe(2);
  });
});
