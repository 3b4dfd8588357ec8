/**
 * npm run bench -- ingest
 * Signed webhooks at 50 connections for a fixed time against (1) a bare node:http server that only
 * answers 200 and (2) Tayori's webhook receiver (group commit into the embedded ClickHouse); prints
 * both and the ratio. Afterwards checks that every acknowledged event is stored exactly once.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, randomBytes } from 'node:crypto';
import { openClickHouse } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { createHttpApp, FrontHandlers } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis } from '../core/redis.ts';
import { startLocalRedis } from '../core/redis-server.ts';
import { TenantStore } from '../core/tenants.ts';
import { createIngest } from '../ingest/index.ts';
import { runLoad, type LoadResult } from './load-result.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const POOL = 60_000;
const SECRET = randomBytes(16).toString('hex');
const BOT = `U${'3'.repeat(32)}`;
const here = path.dirname(fileURLToPath(import.meta.url));

function load(url: string, poolFile: string): Promise<LoadResult> {
  return runLoad(path.join(here, 'load.ts'), [url, String(SECONDS), String(CONNECTIONS), poolFile]);
}

export async function benchIngest(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-ingest-'));
  try {
    // one follow event per request, as LINE mostly sends them; a pool of distinct signed bodies
    const start = Date.parse('2026-06-01T00:00:00Z');
    const pool = Array.from({ length: POOL }, (_, i) => {
      const body = JSON.stringify({
        destination: BOT,
        events: [
          {
            type: 'follow',
            mode: 'active',
            timestamp: start + i,
            source: { type: 'user', userId: `U${i.toString(16).padStart(32, '0')}` },
            webhookEventId: `01BENCH${i.toString(36).toUpperCase().padStart(19, '0')}`,
            deliveryContext: { isRedelivery: false },
            replyToken: randomBytes(16).toString('hex'),
            follow: { isUnblocked: false },
          },
        ],
      });
      return { body, signature: createHmac('sha256', SECRET).update(body).digest('base64') };
    });
    const poolFile = path.join(dir, 'pool.json');
    fs.writeFileSync(poolFile, JSON.stringify(pool));

    // (1) the bare server
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareResult = await load(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/webhook/24201`, poolFile);
    await new Promise((r) => bare.close(r));

    // (2) Tayori's receiver, as the suite mounts it
    const logger = createLogger('error');
    const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
    await migrate(ch);
    const redisServer = await startLocalRedis({ dir: path.join(dir, 'redis') });
    const redis = connectRedis(redisServer.url);
    const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
    await tenants.add({ id: '24201', name: '津市', kind: 'municipality', botUserId: BOT });
    await tenants.setCredentials('24201', { channelSecret: SECRET, channelAccessToken: 'bench', lineApi: 'sandbox' });
    const writer = {
      ...(process.env.BENCH_COMMIT_CONCURRENCY ? { concurrency: Number(process.env.BENCH_COMMIT_CONCURRENCY) } : {}),
      ...(process.env.BENCH_COMMIT_DELAY_MS ? { maxDelayMs: Number(process.env.BENCH_COMMIT_DELAY_MS) } : {}),
    };
    const rollupIntervalMs = process.env.BENCH_ROLLUP_MS ? Number(process.env.BENCH_ROLLUP_MS) : undefined;
    const ingest = createIngest({
      ch,
      redis,
      tenants,
      endpoints: () => ({ line: 'http://127.0.0.1:1' }),
      logger,
      writer,
      rollupIntervalMs,
    });
    await ingest.start();
    const front = new FrontHandlers();
    ingest.mount(front);
    const app = createHttpApp(logger, { front });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const tayori = await load(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhook/24201`, poolFile);
    await app.close();
    await ingest.stop();

    const q = async (query: string) =>
      (await (await ch.query({ query, format: 'JSONEachRow' })).json<Record<string, string>>())[0]!;
    const stored = await q('SELECT count() AS n, uniqExact(webhook_event_id) AS ids FROM raw_webhook_events FINAL');
    const rolled = await q("SELECT sum(events) AS events FROM webhook_events_per_day FINAL WHERE tenant_id = '24201'");
    const expectedDistinct = Math.min(tayori.sent, POOL);
    await redis.quit();
    await redisServer.stop();
    await ch.close();

    const ratio = tayori.rps / bareResult.rps;
    console.log(
      `bare http:  ${bareResult.rps.toFixed(0)} req/s  p50 ${bareResult.p50_ms} ms  p99 ${bareResult.p99_ms} ms`,
    );
    console.log(
      `Tayori:     ${tayori.rps.toFixed(0)} req/s (= events/s)  p50 ${tayori.p50_ms} ms  p99 ${tayori.p99_ms} ms  non-2xx ${tayori.non2xx}  errors ${tayori.errors}`,
    );
    console.log(
      `group commit: ${ingest.writer.stats.inserts} INSERTs, ${(ingest.writer.stats.rows / Math.max(1, ingest.writer.stats.inserts)).toFixed(1)} rows each`,
    );
    console.log(
      `stored: ${stored.ids} distinct events (expected ${expectedDistinct}), rows after FINAL ${stored.n}, rollup ${rolled.events}`,
    );
    const exactlyOnce =
      Number(stored.ids) === expectedDistinct &&
      Number(stored.n) === expectedDistinct &&
      Number(rolled.events) === expectedDistinct;
    console.log(`ratio ${ratio.toFixed(3)} (goal ≥ 0.7)  exactly once: ${exactlyOnce ? 'yes' : 'NO'}`);
    return {
      bench: 'ingest',
      ratio: Number(ratio.toFixed(3)),
      tayori_rps: Math.round(tayori.rps),
      bare_rps: Math.round(bareResult.rps),
      events_per_s: Math.round(tayori.rps),
      p50_ms: tayori.p50_ms,
      p99_ms: tayori.p99_ms,
      non2xx: tayori.non2xx,
      exactly_once: exactlyOnce,
      connections: CONNECTIONS,
      seconds: SECONDS,
      goal: 'ratio >= 0.7',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
