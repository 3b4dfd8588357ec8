import fs from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from './config.ts';
import { AppError, isConnectionError, unavailableError } from './errors.ts';
import { counter, histogram } from './metrics-registry.ts';
import { sql } from './sql.ts';
import type { z } from './zod.ts';

export type { ClickHouseClient };

/** Only this module knows whether the engine is embedded (chDB) or a server. */
export async function openClickHouse(cfg: Config['clickhouse']): Promise<ClickHouseClient> {
  if (cfg.kind === 'embedded') {
    fs.mkdirSync(cfg.path, { recursive: true });
    const holder = embeddedDirHolder(cfg.path);
    if (holder !== undefined) throw lockedError(cfg.path, holder);
    let client: ClickHouseClient;
    try {
      // chdb ships its own copy of client-common's types; the runtime contract is the same.
      const connection = createChdbConnection({ path: cfg.path }) as unknown as NonNullable<
        Parameters<typeof createClient>[0]
      >['connection'];
      client = drainOnClose(createClient({ connection }));
      await roundTrip(client);
    } catch (e) {
      throw embeddedError(e, cfg.path);
    }
    return guardUnavailable(client);
  }
  const target = `${cfg.url}`;
  if (cfg.database !== 'default') {
    const admin = createClient({ url: cfg.url, username: cfg.user, password: cfg.password, request_timeout: 5000 });
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${cfg.database}` });
    } catch (e) {
      throw unreachable(target, e);
    } finally {
      await admin.close();
    }
  }
  const client = createClient({
    url: cfg.url,
    username: cfg.user,
    password: cfg.password,
    database: cfg.database,
    request_timeout: 30_000,
  });
  try {
    await roundTrip(client);
  } catch (e) {
    await client.close().catch(() => {});
    throw unreachable(target, e);
  }
  return guardUnavailable(client);
}

/**
 * Turns a failure to reach ClickHouse (refused, reset, timed out, the client closing) into
 * AppError 503 `clickhouse_unavailable`, with the original as its cause: a request that needed it
 * answers 503 in Japanese instead of 500, whatever route it came through. Errors ClickHouse itself
 * answered (a bad query) pass unchanged.
 */
export function guardUnavailable(client: ClickHouseClient): ClickHouseClient {
  const wrap = <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) => {
    // /metrics: latency and errors per kind of call (children bound once)
    const seconds = chSeconds.labels(op);
    const errors = chErrors.labels(op);
    return async (...args: A): Promise<R> => {
      const t0 = performance.now();
      try {
        return await fn(...args);
      } catch (e) {
        errors.inc();
        if (isConnectionError(e) || (e instanceof Error && e.message === CLOSING))
          throw unavailableError('clickhouse', e);
        throw e;
      } finally {
        seconds.observe((performance.now() - t0) / 1000);
      }
    };
  };
  return Object.assign(client, {
    query: wrap('query', client.query.bind(client)),
    insert: wrap('insert', client.insert.bind(client)),
    command: wrap('command', client.command.bind(client)),
    exec: wrap('exec', client.exec.bind(client)),
  }) as ClickHouseClient;
}

const chSeconds = histogram('tayori_clickhouse_seconds', 'ClickHouse calls: time to the answer', ['op']);
const chErrors = counter('tayori_clickhouse_errors_total', 'ClickHouse calls that failed', ['op']);

const CLOSING = 'ClickHouse client is closing';

/**
 * Makes close() wait (up to `limitMs`) for operations still running and refuse new ones: the
 * embedded engine aborts the whole process when its connection closes under a running query, and
 * at shutdown some worker or timer may still be mid-query.
 */
function drainOnClose(client: ClickHouseClient, limitMs = 10_000): ClickHouseClient {
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  const wrap =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (closing) throw new Error(CLOSING);
      inFlight++;
      try {
        return await fn(...args);
      } finally {
        if (--inFlight === 0) drained?.();
      }
    };
  const close = client.close.bind(client);
  return Object.assign(client, {
    query: wrap(client.query.bind(client)),
    insert: wrap(client.insert.bind(client)),
    command: wrap(client.command.bind(client)),
    exec: wrap(client.exec.bind(client)),
    async close() {
      closing = true;
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => (drained = r)),
          new Promise<void>((r) => (timer = setTimeout(r, limitMs))),
        ]);
        clearTimeout(timer);
      }
      await close();
    },
  }) as ClickHouseClient;
}

/**
 * Runs the named query `name` (sql/queries) and parses every row with the zod schema `row`, so a
 * column whose name or type changed fails here, naming the query and the column, instead of turning
 * up later as `undefined`. 64-bit integers (counts, sums, epoch ms, UInt64 columns) come quoted
 * from a ClickHouse server and bare from chDB: schemas read them with `z.coerce.number()`.
 * `fill` replaces `{{marker}}` templates in the statement (compiled SQL, never user input).
 */
export async function query<S extends z.ZodType>(
  ch: ClickHouseClient,
  name: string,
  params: Record<string, unknown>,
  row: S,
  fill?: Record<string, string>,
): Promise<z.output<S>[]> {
  let text = sql(name);
  for (const [k, v] of Object.entries(fill ?? {})) text = text.replaceAll(`{{${k}}}`, v);
  const rs = await ch.query({ query: text, query_params: params, format: 'JSONEachRow' });
  const raw = await rs.json<unknown>();
  const out: z.output<S>[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = row.safeParse(raw[i]);
    if (!r.success) throw new QueryRowError(name, i, raw[i], r.error);
    out[i] = r.data;
  }
  return out;
}

/** A row of a named query that does not have the shape its schema says. */
export class QueryRowError extends Error {
  constructor(
    readonly query: string,
    readonly rowIndex: number,
    row: unknown,
    readonly issues: z.ZodError,
  ) {
    const first = issues.issues[0];
    const column = first?.path.map(String).join('.') ?? '';
    const absent = first?.path.length === 1 && typeof row === 'object' && row !== null && !(column in row);
    const what =
      column === ''
        ? (first?.message ?? 'invalid row')
        : absent
          ? `column '${column}' is missing`
          : `column '${column}': ${first?.message}`;
    super(`named query '${query}', row ${rowIndex}: ${what}`, { cause: issues });
    this.name = 'QueryRowError';
  }
}

/** A real query, not just a connection: what /readyz and start-up rely on. */
export async function roundTrip(client: ClickHouseClient, timeoutMs = 5000): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const rs = await client.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow', abort_signal: ac.signal });
    const rows = await rs.json<{ ok: number }>();
    if (rows[0]?.ok !== 1) throw new Error('unexpected answer to SELECT 1');
  } finally {
    clearTimeout(timer);
  }
}

function unreachable(target: string, e: unknown): AppError {
  const reason = e instanceof Error ? e.message : String(e);
  return new AppError('clickhouse_unreachable', `ClickHouse に接続できません (${target}): ${reason || 'timeout'}`, 503);
}

function lockedError(dir: string, pid?: number): AppError {
  return new AppError(
    'clickhouse_locked',
    `組み込み ClickHouse のデータディレクトリ ${dir} は実行中の Tayori${pid ? ` (pid ${pid})` : ''} が使用しています。` +
      '稼働中のスイートの API を通して操作するか、スイートを停止してから実行してください',
    503,
  );
}

function embeddedError(e: unknown, dir: string): AppError {
  const reason = e instanceof Error ? `${e.message} ${(e.cause as Error | undefined)?.message ?? ''}` : String(e);
  if (/Cannot lock file|already running|different on-disk path/i.test(reason)) return lockedError(dir);
  return new AppError('clickhouse_unavailable', `組み込み ClickHouse (${dir}) を開けません: ${reason.trim()}`, 503);
}

/**
 * The pid of another process holding the engine's lock on `dir` (its flock on `status`), read
 * from /proc/locks, so we can say so before the engine prints a raw error of its own.
 */
export function embeddedDirHolder(dir: string): number | undefined {
  let inode: number;
  let locks: string;
  try {
    inode = fs.statSync(`${dir}/status`).ino;
    locks = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of locks.split('\n')) {
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m && Number(m[2]) === inode && Number(m[1]) !== process.pid) return Number(m[1]);
  }
  return undefined;
}
