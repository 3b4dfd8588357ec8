/**
 * Chunks this process cut and stored, until its own worker takes them (each is read once): their
 * Redis values are the record (other processes, restarts); this copy saves reading 1.8 MB per 100
 * batches back through the Redis connection. Bounded by CHUNK_CACHE_BYTES; a chunk another process
 * took is dropped after CHUNK_CACHE_MS.
 */
import type { CutChunk } from '../audience-batches.ts';

/** Chunk values kept in memory between cutting and sending at most. */
export const CHUNK_CACHE_BYTES = 256 * 1024 * 1024;
export const CHUNK_CACHE_MS = 10 * 60_000;

export class CutChunkCache {
  readonly #chunks = new Map<string, { chunk: CutChunk; at: number }>();
  #bytes = 0;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;

  constructor(maxBytes = CHUNK_CACHE_BYTES, maxAgeMs = CHUNK_CACHE_MS) {
    this.#maxBytes = maxBytes;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Bytes of batch lines held. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#chunks.size;
  }

  /** Drops the chunks kept since before `now` − CHUNK_CACHE_MS (the oldest first; they were added in order). */
  expire(now: number): void {
    for (const [k, v] of this.#chunks) {
      if (now - v.at < this.#maxAgeMs) break;
      this.take(k);
    }
  }

  /** Whether this chunk still fits under the bound. */
  fits(c: CutChunk): boolean {
    return this.#bytes + c.lines.length <= this.#maxBytes;
  }

  /** Keeps a chunk (the caller checked fits()). */
  add(key: string, c: CutChunk, now: number): void {
    this.#chunks.set(key, { chunk: c, at: now });
    this.#bytes += c.lines.length;
  }

  /** Takes a chunk out of the in-memory copies. */
  take(key: string): CutChunk | undefined {
    const hit = this.#chunks.get(key);
    if (!hit) return undefined;
    this.#chunks.delete(key);
    this.#bytes -= hit.chunk.lines.length;
    return hit.chunk;
  }
}
