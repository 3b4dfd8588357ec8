/**
 * A fast path for the multicast bodies Tayori (and any @line/bot-sdk client) sends:
 * `{"to":["U…","U…",…],"messages":[…],…}` with `to` first and no whitespace. The user IDs are
 * read straight from the request bytes into the world's resident indexes (no JSON strings, no
 * second pass); the rest of the body is parsed and schema-validated as usual.
 *
 * It only ever says yes to bodies the general path would accept with the same meaning: anything
 * else — another key order, whitespace, escapes, an ID that is not one of the channel's
 * residents, more than 500 IDs, a duplicate `to`, a body the schema rejects — returns undefined,
 * and the general path parses the body and produces LINE's errors.
 */
import { validateRequest } from '../openapi.ts';

const PREFIX = Buffer.from('{"to":[', 'latin1');
const MAX_TO = 500;
/** A valid `to` stands in for the real one while the rest of the body is validated. */
const STAND_IN_TO = [`U${'0'.repeat(32)}`];

const scratch = new Int32Array(MAX_TO);

/** The bytes after `to` of the last body read, and that body (without `to`). */
let last: { rest: Buffer; body: Record<string, unknown> } | undefined;

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export interface FastMulticast {
  /** The body without `to`. */
  body: Record<string, unknown>;
  /** The resident index of each `to` entry, in order (duplicates kept). */
  indexes: Int32Array;
}

/** Whatever resolves the 33-byte user ID at `offset` to a resident index (−1: not a resident). */
export interface BytesIndexer {
  residentIndexOfBytes(bytes: Uint8Array, offset: number): number;
}

export function parseMulticastFast(bytes: Buffer, ids: BytesIndexer): FastMulticast | undefined {
  const len = bytes.length;
  if (len < PREFIX.length + 36) return undefined;
  for (let k = 0; k < PREFIX.length; k++) if (bytes[k] !== PREFIX[k]) return undefined;
  let p = PREFIX.length;
  let n = 0;
  for (;;) {
    if (n === MAX_TO) return undefined;
    // "U" + 32 hex digits + ", then , or ]
    if (p + 35 >= len || bytes[p] !== 34 || bytes[p + 34] !== 34) return undefined;
    const i = ids.residentIndexOfBytes(bytes, p + 1);
    if (i < 0) return undefined;
    scratch[n++] = i;
    p += 35;
    const c = bytes[p];
    if (c === 44 /* , */) {
      p++;
      continue;
    }
    if (c === 93 /* ] */) {
      p++;
      break;
    }
    return undefined;
  }
  // What follows `]` is `}` (end of the object) or `,"key":…` (more members).
  if (!((bytes[p] === 125 /* } */ || (bytes[p] === 44 /* , */ && bytes[p + 1] === 34)) /* " */)) return undefined;
  // A fan-out's requests differ in `to` only: the rest is parsed and validated once, and the same
  // (frozen) body serves while the bytes are the same.
  if (last && len - p === last.rest.length && bytes.compare(last.rest, 0, last.rest.length, p, len) === 0) {
    return { body: last.body, indexes: keep(n) };
  }
  const restText = bytes[p] === 125 ? `{${bytes.toString('utf8', p)}` : `{${bytes.toString('utf8', p + 1)}`;
  let rest: unknown;
  try {
    rest = JSON.parse(restText);
  } catch {
    return undefined;
  }
  if (rest === null || typeof rest !== 'object' || Array.isArray(rest) || Object.hasOwn(rest, 'to')) return undefined;
  const body = rest as Record<string, unknown>;
  body.to = STAND_IN_TO;
  const valid = validateRequest('multicast', body).length === 0;
  delete body.to;
  if (!valid) return undefined;
  if (len - p <= 64 * 1024) last = { rest: Buffer.from(bytes.subarray(p)), body: deepFreeze(body) };
  return { body, indexes: keep(n) };
}

/**
 * The indexes of `to` outlive the request (the receipt book lists each request's recipients):
 * they are cut from slabs of 1 MB rather than allocated one small array buffer each, since V8
 * starts a full garbage collection (marking millions of resident ids) per so much new external
 * memory.
 */
const SLAB = 1 << 18;
let slab = new Int32Array(SLAB);
let slabUsed = 0;

function keep(n: number): Int32Array {
  if (slabUsed + n > SLAB) {
    slab = new Int32Array(SLAB);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  out.set(scratch.subarray(0, n));
  return out;
}
