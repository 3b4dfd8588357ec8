/**
 * The audience as multicast batches. ClickHouse returns each page of the audience already cut into
 * batches: one line per batch, "<count>\t<"id","id",…>" — the JSON of its `to`, ready to be
 * written into a request (sql/queries/delivery.sql: delivery.audience_batches around
 * delivery.audience_page or delivery.audience_segment_range). Here those lines are grouped into
 * chunks of up to CHUNK_BATCHES batches — one Redis value and one send job each: a header line
 * "<first batch>\t<bucket>" ('-': no bucket, '=<name>' otherwise), then the batch lines. 2,000,000
 * user ids never become strings on the way, and are copied once (into Redis).
 */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { sql } from '../core/sql.ts';

export const BATCH_SIZE = 500;
/** Batches per chunk: one send job, and one Redis value of about 1.8 MB. */
export const CHUNK_BATCHES = 100;

const NL = 10;
const TAB = 9;

/** One page of the audience, as batch lines, in user_id order. */
export interface Page {
  /** "<count>\t<to>\n" per batch. */
  lines: Buffer;
  /** Recipients in the page. */
  count: number;
  /** The cursor after this page. */
  upto: string;
  done: boolean;
}

export interface CutChunk {
  n: number;
  first: number;
  batches: number;
  bucket: string | undefined;
  /** Its batch lines: a view into the page read from ClickHouse (no copy). */
  lines: Buffer;
}

export interface ParsedChunk {
  first: number;
  bucket: string | undefined;
  counts: number[];
  /** Each batch's `to` fragment (views into the Redis value, no copies). */
  lines: Buffer[];
}

/** Batch lines of user ids (test devices, click-bucket groups: lists made in JavaScript). */
export function batchLines(ids: readonly string[]): Buffer {
  let out = '';
  for (let i = 0; i < ids.length; i += BATCH_SIZE) {
    const batch = ids.slice(i, i + BATCH_SIZE);
    out += `${batch.length}\t${batch.map((u) => JSON.stringify(u)).join(',')}\n`;
  }
  return Buffer.from(out);
}

/** The user ids of batch lines, in order. */
export function idsOfLines(lines: Buffer): string[] {
  const out: string[] = [];
  for (const line of eachLine(lines))
    for (const u of JSON.parse(`[${line.toString('utf8', line.indexOf(TAB) + 1)}]`) as string[]) out.push(u);
  return out;
}

function* eachLine(lines: Buffer): Generator<Buffer> {
  let pos = 0;
  while (pos < lines.length) {
    let end = lines.indexOf(NL, pos);
    if (end < 0) end = lines.length;
    yield lines.subarray(pos, end);
    pos = end + 1;
  }
}

/** Recipients in batch lines, and the last user id (undefined when there are none). */
export function summarize(lines: Buffer): { count: number; batches: number; last: string | undefined } {
  let count = 0;
  let batches = 0;
  let lastLine: Buffer | undefined;
  for (const line of eachLine(lines)) {
    count += Number(line.toString('latin1', 0, line.indexOf(TAB)));
    batches++;
    lastLine = line;
  }
  const last = lastLine
    ? (JSON.parse(`[${lastLine.toString('utf8', lastLine.indexOf(TAB) + 1)}]`) as string[]).at(-1)
    : undefined;
  return { count, batches, last };
}

/**
 * The batch lines of the user ids a named query gives (delivery.audience_batches around it;
 * TabSeparatedRaw: the lines as ClickHouse wrote them).
 */
export async function readBatchLines(
  ch: ClickHouseClient,
  name: string,
  params: Record<string, unknown>,
  segment?: string,
): Promise<Buffer> {
  const ids = (segment === undefined ? sql(name) : sql(name).replaceAll('{{segment}}', segment)).replace(/;\s*$/, '');
  const query = sql('delivery.audience_batches').replace('{{ids}}', () => ids);
  const { stream } = await ch.exec({
    query: `${query}\nFORMAT TabSeparatedRaw`,
    query_params: { ...params, batch: BATCH_SIZE },
  });
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  const lines = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return lines.length === 0 || lines[lines.length - 1] === NL ? lines : Buffer.concat([lines, Buffer.from('\n')]);
}

/**
 * Groups batch lines into chunks of up to CHUNK_BATCHES batches, numbered from firstBatch and
 * firstChunk. A chunk's lines are a view into `lines` (no copy: at 2M recipients, 72 MB less to
 * allocate and collect); its Redis value is chunkHeader(c) followed by them.
 */
export function cutChunks(
  lines: Buffer,
  firstBatch: number,
  firstChunk: number,
  bucket: string | undefined,
): CutChunk[] {
  const out: CutChunk[] = [];
  let pos = 0;
  let batch = firstBatch;
  while (pos < lines.length) {
    let end = pos;
    let batches = 0;
    while (batches < CHUNK_BATCHES && end < lines.length) {
      let nl = lines.indexOf(NL, end);
      if (nl < 0) nl = lines.length;
      batches++;
      end = nl + 1;
    }
    const body = lines.subarray(pos, Math.min(end, lines.length));
    out.push({
      n: firstChunk + out.length,
      first: batch,
      batches,
      bucket,
      lines: body[body.length - 1] === NL ? body.subarray(0, body.length - 1) : body,
    });
    batch += batches;
    pos = end;
  }
  return out;
}

/** The header line of a chunk's Redis value: "<first batch>\t<bucket>\n" ('-': no bucket, '=<name>' otherwise). */
export function chunkHeader(c: Pick<CutChunk, 'first' | 'bucket'>): Buffer {
  return Buffer.from(`${c.first}\t${c.bucket === undefined ? '-' : `=${c.bucket}`}\n`);
}

/** A chunk's Redis value in parts, written as they are (core/redis.ts setFromParts): its header line, then its batch lines. */
export function chunkParts(c: CutChunk): Buffer[] {
  return [chunkHeader(c), c.lines];
}

/** A chunk's Redis value in one buffer (what parseChunk reads back). */
export function chunkValue(c: CutChunk): Buffer {
  return Buffer.concat(chunkParts(c));
}

/** A chunk's batches from its lines (the header known apart), from byte `from` on. */
export function parseLines(buf: Buffer, first: number, bucket: string | undefined, from = 0): ParsedChunk {
  const counts: number[] = [];
  const lines: Buffer[] = [];
  for (const line of eachLine(buf.subarray(from))) {
    const tab = line.indexOf(TAB);
    counts.push(Number(line.toString('latin1', 0, tab)));
    lines.push(line.subarray(tab + 1));
  }
  return { first, bucket, counts, lines };
}

/** A chunk's batches from its Redis value (chunkValue). */
export function parseChunk(buf: Buffer): ParsedChunk {
  let nl = buf.indexOf(NL);
  if (nl < 0) nl = buf.length;
  const [first, bucket] = buf.toString('utf8', 0, nl).split('\t') as [string, string];
  return parseLines(buf, Number(first), bucket === '-' ? undefined : bucket.slice(1), nl + 1);
}
