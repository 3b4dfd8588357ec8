/**
 * Identifiers: resident user ids ('U' + 32 hex), webhook event ids (ULID-shaped), reply tokens,
 * message ids. A user id is a pure function of (key, index) and can be turned back into the index
 * without any lookup table: its first 8 hex digits are the index under a keyed 32-bit Feistel
 * permutation, the other 24 are hashes of (key, index) that act as a check.
 */
import { fmix32, hash2, hash3 } from './prng.ts';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(n: number): string {
  return HEX[(n >>> 24) & 255]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
}

function round(key: number, r: number, half: number): number {
  return hash3(key, r, half) & 0xffff;
}

function permute(key: number, x: number): number {
  let l = x >>> 16;
  let r = x & 0xffff;
  for (let i = 0; i < 4; i++) {
    const nl = r;
    r = l ^ round(key, i, r);
    l = nl;
  }
  return ((l << 16) | r) >>> 0;
}

function unpermute(key: number, y: number): number {
  let l = y >>> 16;
  let r = y & 0xffff;
  for (let i = 3; i >= 0; i--) {
    const pr = l;
    l = r ^ round(key, i, pr);
    r = pr;
  }
  return ((l << 16) | r) >>> 0;
}

/** Parses 8 lowercase hex digits at `off`; -1 when any is not one. */
function parseHex32(s: string, off: number): number {
  let n = 0;
  for (let k = 0; k < 8; k++) {
    const c = s.charCodeAt(off + k);
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else return -1;
    n = n * 16 + v;
  }
  return n;
}

const HEX_CODES = Buffer.from('0123456789abcdef', 'latin1');

/** Encodes and decodes the user ids of one channel's population. */
export class UserIdCodec {
  private readonly buf = Buffer.alloc(33);

  constructor(
    private readonly key: number,
    private readonly count: number,
  ) {
    this.buf[0] = 85; // 'U'
  }

  private put(n: number, off: number): void {
    const b = this.buf;
    for (let k = 7; k >= 0; k--) {
      b[off + k] = HEX_CODES[n & 15]!;
      n >>>= 4;
    }
  }

  idOf(index: number): string {
    const k = this.key;
    this.put(permute(k, index), 1);
    this.put(hash3(k, index, 1), 9);
    this.put(hash3(k, index, 2), 17);
    this.put(hash3(k, index, 3), 25);
    return this.buf.toString('latin1', 0, 33);
  }

  /** Index of a resident's user id, or -1 when the id is not one of this population's. */
  indexOf(userId: string): number {
    if (typeof userId !== 'string' || userId.length !== 33 || userId.charCodeAt(0) !== 85 /* U */) return -1;
    const head = parseHex32(userId, 1);
    if (head < 0) return -1;
    const index = unpermute(this.key, head);
    if (index >= this.count) return -1;
    const k = this.key;
    if (parseHex32(userId, 9) !== hash3(k, index, 1)) return -1;
    if (parseHex32(userId, 17) !== hash3(k, index, 2)) return -1;
    if (parseHex32(userId, 25) !== hash3(k, index, 3)) return -1;
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
  let z = hash2(a, b);
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
