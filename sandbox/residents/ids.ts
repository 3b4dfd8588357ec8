/**
 * Identifiers: resident user ids ('U' + 32 hex), webhook event ids (ULID-shaped), reply tokens,
 * message ids. A user id is a pure function of (key, index) and can be turned back into the index
 * without any lookup table: its first 8 hex digits are index × stride + a keyed offset below the
 * stride (the largest power of two with population × stride ≤ 2³²), the other 24 are hashes of
 * (key, index) that act as a check.
 * So ids sort in index order, as a store keyed by user id keeps its rows: an audience sent in user
 * id order (as Tayori reads it from ClickHouse) walks the population's arrays in order instead of
 * jumping across them for every recipient.
 */
import { fmix32, hash2, hash3 } from './prng.ts';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * hash2(a, b) | 0, written out in one function: int32 results stay unboxed and the JIT can inline
 * it into the hot id parsing (hash2's uint32 results, returned across calls, are heap numbers).
 */
function hash2i(a: number, b: number): number {
  let x = (b + 0x7f4a7c15) | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  let h = Math.imul(a ^ 0x9e3779b9, 0x01000193) ^ x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function hex32(n: number): string {
  return HEX[(n >>> 24) & 255]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

/** Value of each lowercase hex digit's char code (below 128); −1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = 10 + i;

const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');

/** Value of two lowercase hex digits by their byte codes (first << 8 | second); −1 for anything else. */
const HEX_PAIR = new Int16Array(1 << 16).fill(-1);
for (let a = 0; a < 16; a++) for (let b = 0; b < 16; b++) HEX_PAIR[(HEX_CODES[a]! << 8) | HEX_CODES[b]!] = (a << 4) | b;

/** Encodes and decodes the user ids of one channel's population. */
export class UserIdCodec {
  private readonly buf = Buffer.alloc(33);
  /** Ids' first 32 bits: index × 2^shift + offset(index), offset < 2^shift. */
  private readonly shift: number;
  private readonly mask: number;
  /** Scratch: the 32 hex digits of the id being parsed, as eight 16-bit values. */
  private readonly halves = new Int32Array(8);

  constructor(
    private readonly key: number,
    private readonly count: number,
  ) {
    this.buf[0] = 85; // 'U'
    this.shift = Math.max(0, 32 - Math.ceil(Math.log2(Math.max(1, count))));
    this.mask = this.shift === 32 ? -1 : (1 << this.shift) - 1;
  }

  private put(n: number, off: number): void {
    const b = this.buf;
    for (let k = 7; k >= 0; k--) {
      b[off + k] = HEX_CODES[n & 15]!;
      n >>>= 4;
    }
  }

  idOf(index: number): string {
    // The check words are hash3(key, index, j) = hash2(hash2(key, index), j).
    const h = hash2i(this.key, index);
    this.put(index * 2 ** this.shift + this.offset(h), 1);
    this.put(hash2i(h, 1), 9);
    this.put(hash2i(h, 2), 17);
    this.put(hash2i(h, 3), 25);
    return this.buf.toString('latin1', 0, 33);
  }

  /** Index of a resident's user id, or -1 when the id is not one of this population's. */
  indexOf(userId: string): number {
    // Hot path of every multicast (500 ids per request): one pass over the digits into 16-bit
    // halves (32-bit values would be boxed), no calls but the hashes, no allocation.
    if (typeof userId !== 'string' || userId.length !== 33 || userId.charCodeAt(0) !== 85 /* U */) return -1;
    const w = this.halves;
    for (let q = 0, o = 1; q < 8; q++, o += 4) {
      const ca = userId.charCodeAt(o);
      const cb = userId.charCodeAt(o + 1);
      const cc = userId.charCodeAt(o + 2);
      const cd = userId.charCodeAt(o + 3);
      if ((ca | cb | cc | cd) > 127) return -1;
      const a = HEX_VALUE[ca]!;
      const b = HEX_VALUE[cb]!;
      const c = HEX_VALUE[cc]!;
      const d = HEX_VALUE[cd]!;
      if ((a | b | c | d) < 0) return -1;
      w[q] = (a << 12) | (b << 8) | (c << 4) | d;
    }
    return this.checkHalves();
  }

  /**
   * indexOf for the 33 ASCII bytes of a user id at `offset` in `bytes` (a request body), without
   * making a string of them; −1 when they are not one of this population's ids.
   */
  indexOfBytes(bytes: Uint8Array, offset: number): number {
    if (offset < 0 || offset + 33 > bytes.length || bytes[offset] !== 85 /* U */) return -1;
    const w = this.halves;
    // two digits per lookup (bytes are < 256, so any pair indexes the table)
    for (let q = 0, o = offset + 1; q < 8; q++, o += 4) {
      const hi = HEX_PAIR[(bytes[o]! << 8) | bytes[o + 1]!]!;
      const lo = HEX_PAIR[(bytes[o + 2]! << 8) | bytes[o + 3]!]!;
      if ((hi | lo) < 0) return -1;
      w[q] = (hi << 8) | lo;
    }
    return this.checkHalves();
  }

  /** The keyed offset of an index's id within its stride (h = hash2i(key, index)). */
  private offset(h: number): number {
    return (hash2i(h, 0) & this.mask) >>> 0;
  }

  /** The index whose id has the digits in `halves`, or −1. */
  private checkHalves(): number {
    const w = this.halves;
    const v = ((w[0]! << 16) | w[1]!) >>> 0;
    const index = this.shift === 32 ? 0 : v >>> this.shift;
    if (index >= this.count) return -1;
    const h = hash2i(this.key, index);
    if ((v & this.mask) >>> 0 !== this.offset(h)) return -1;
    const x1 = hash2i(h, 1);
    if (w[2] !== x1 >>> 16 || w[3] !== (x1 & 0xffff)) return -1;
    const x2 = hash2i(h, 2);
    if (w[4] !== x2 >>> 16 || w[5] !== (x2 & 0xffff)) return -1;
    const x3 = hash2i(h, 3);
    if (w[6] !== x3 >>> 16 || w[7] !== (x3 & 0xffff)) return -1;
    return index;
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** ULID-shaped id (26 Crockford base32 chars: 48-bit ms time + 80 bits from the two hashes). */
export function ulid(timeMs: number, a: number, b: number): string {
  let out = '';
  let t = Math.max(0, Math.floor(timeMs));
  const timePart: string[] = [];
  for (let i = 0; i < 10; i++) {
    timePart.push(CROCKFORD[t % 32]!);
    t = Math.floor(t / 32);
  }
  out = timePart.reverse().join('');
  let x = fmix32(a);
  let y = fmix32(b ^ 0x5bd1e995);
  const z = hash2(a, b);
  const words = [x, y, z];
  for (let i = 0; i < 16; i++) {
    const w = i % 3;
    out += CROCKFORD[words[w]! & 31];
    words[w] = words[w]! >>> 5;
    if (i === 5) {
      x = hash2(x, 7);
      words[0] = x;
    }
    if (i === 11) {
      y = hash2(y, 11);
      words[1] = y;
    }
  }
  return out;
}

/** 32 hex chars, like LINE's reply tokens. */
export function token32(a: number, b: number): string {
  return hex32(hash2(a, b)) + hex32(hash3(a, b, 1)) + hex32(hash3(a, b, 2)) + hex32(hash3(a, b, 3));
}

/** Decimal message id (LINE's are 18-digit numbers). */
export function messageId(a: number, b: number): string {
  const hi = (hash2(a, b) % 900_000_000) + 100_000_000;
  const lo = hash3(a, b, 9) % 1_000_000_000;
  return `${hi}${String(lo).padStart(9, '0')}`;
}
