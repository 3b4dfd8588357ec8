/**
 * npm run bench -- ingest
 * 1. The event log's store, chosen on evidence: the receiver at 50 connections on LMDB (lmdb-js: commit
 *    and sync on its own threads) against our segment files (length + CRC-32 frames, one O_DSYNC group
 *    write per event turn, on the main thread or on libuv's pool), beside a log that keeps nothing.
 * 2. Signed webhooks at 50 connections for a fixed time against a bare node:http server that only
 *    answers 200 and against Tayori's receiver (event log → shipper → embedded ClickHouse, handlers
 *    run from the log); the ratio, acknowledgement latency, ship lag (ack → in ClickHouse), handler
 *    lag (ack → handler done, replies included, for the share of postbacks and messages), and the
 *    exactly-once check afterwards.
 * 3. The same at 256 connections.
 * 4. An outage run: ClickHouse refuses writes (a fault at the client boundary) for 10 s mid-run;
 *    every acknowledged event must be stored once it is back (`outage_lost` = acknowledged, never stored).
 * Env: BENCH_SECONDS (10), BENCH_CONNECTIONS (50), BENCH_OUTAGE_SECONDS (10).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { lineClients } from '../core/line.ts';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { createHttpApp, FrontHandlers } from '../core/http.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis } from '../core/redis.ts';
import { startLocalRedis } from '../core/redis-server.ts';
import { TenantStore } from '../core/tenants.ts';
import { createIngest, replyTokenUsable, type Ingest } from '../ingest/index.ts';
import { LmdbEventLog } from '../ingest/lmdb-event-log.ts';
import { SegmentEventLog } from '../ingest/segment-event-log.ts';
import { TenantSecretsCache } from '../ingest/tenant-secrets.ts';
import { createWebhookReceiver, isWebhookRequest } from '../ingest/webhook-receiver.ts';
import type { EventLog } from '../ingest/event-log.ts';
import { checkWebhookBody, forLog, type WebhookBody } from '../ingest/webhook-body.ts';
import { validateSignature } from '@line/bot-sdk';
import { runLoad, type LoadResult } from './load-result.ts';
import { cpuByThread, threadCpu } from './thread-cpu.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const OUTAGE_SECONDS = Number(process.env.BENCH_OUTAGE_SECONDS ?? 10);
const POOL = 60_000;
const SECRET = randomBytes(16).toString('hex');
const BOT = `U${'3'.repeat(32)}`;
const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * One load run; per request answered: `cpu_us`, this process's CPU (user + system, every thread: the
 * server, the log's writer, the shipper and chDB's own threads), and `loop_us`, the time the main
 * event loop was busy (the server's one thread: what caps its rate). The load runs in its own process.
 */
async function load(
  url: string,
  poolFile: string,
  seconds = SECONDS,
  connections = CONNECTIONS,
  ackFile?: string,
): Promise<LoadResult & { cpu_us: number; loop_us: number; threads: Record<string, number> }> {
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const threads0 = threadCpu();
  const r = await runLoad(path.join(here, 'load.ts'), [
    url,
    String(seconds),
    String(connections),
    poolFile,
    ...(ackFile ? [ackFile] : []),
  ]);
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const threads = cpuByThread(threads0, threadCpu(), r.total);
  const n = Math.max(1, r.total);
  return {
    ...r,
    cpu_us: Number(((cpu.user + cpu.system) / n).toFixed(1)),
    loop_us: Number(((elu.active * 1000) / n).toFixed(1)),
    threads,
  };
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/**
 * Signed bodies, one event each: follows, as LINE mostly sends them — or, `mixed`, 80 % follows, 10 %
 * postbacks and 10 % messages, timestamped now so that their replies are due.
 */
function makePool(file: string, prefix: string, mixed = false): string[] {
  const ids: string[] = [];
  const now = Date.now();
  const pool = Array.from({ length: POOL }, (_, i) => {
    const kind = !mixed ? 'follow' : i % 10 === 3 ? 'postback' : i % 10 === 7 ? 'message' : 'follow';
    const id = `01${prefix}${i.toString(36).toUpperCase().padStart(20, '0')}`;
    ids.push(id);
    const body = JSON.stringify({
      destination: BOT,
      events: [
        {
          type: kind,
          mode: 'active',
          timestamp: now + i,
          source: { type: 'user', userId: `U${i.toString(16).padStart(32, '0')}` },
          webhookEventId: id,
          deliveryContext: { isRedelivery: false },
          replyToken: randomBytes(16).toString('hex'),
          ...(kind === 'follow' ? { follow: { isUnblocked: false } } : {}),
          ...(kind === 'postback' ? { postback: { data: `bench:menu:${i % 7}` } } : {}),
          ...(kind === 'message' ? { message: { id: String(i), type: 'text', text: 'こんにちは' } } : {}),
        },
      ],
    });
    return { body, signature: createHmac('sha256', SECRET).update(body).digest('base64') };
  });
  fs.writeFileSync(file, JSON.stringify(pool));
  return ids;
}

// ------------------------------------------------------------------ 2–4. the receiver

/** The client as the shipper sees it; while `down`, every INSERT fails the way an unreachable server does. */
function faulty(ch: ClickHouseClient) {
  const state = { down: false };
  const client = new Proxy(ch, {
    get(target, prop, receiver) {
      if (prop === 'insert')
        return (...args: Parameters<ClickHouseClient['insert']>) =>
          state.down
            ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED (injected)'), { code: 'ECONNREFUSED' }))
            : target.insert(...args);
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { client, state };
}

/** CPU per request of the receiver's own steps (signature, parse and check), over the pool, in this process. */
function receiveSteps(poolFile: string): { hmac_us: number; parse_us: number } {
  const pool = (JSON.parse(fs.readFileSync(poolFile, 'utf8')) as Array<{ body: string; signature: string }>).map(
    (p) => ({ raw: Buffer.from(p.body), signature: p.signature }),
  );
  const timed = (fn: (p: (typeof pool)[number]) => void) => {
    for (const p of pool.slice(0, 2000)) fn(p); // warm-up
    const c0 = process.cpuUsage();
    for (const p of pool) fn(p);
    const c = process.cpuUsage(c0);
    return Number(((c.user + c.system) / pool.length).toFixed(2));
  };
  const hmac_us = timed((p) => {
    if (!validateSignature(p.raw, SECRET, p.signature)) throw new Error('bad signature in pool');
  });
  const parse_us = timed((p) => {
    const body = JSON.parse(p.raw.toString('utf8')) as WebhookBody;
    if (checkWebhookBody(body)) throw new Error('bad body in pool');
    body.events.map(forLog);
  });
  return { hmac_us, parse_us };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A reference beside the bare server: a bare node:http server that does only what LINE asks of any
 * receiver — the body read whole, its signature checked, its JSON parsed — and answers 200.
 */
async function bareVerifying(poolFile: string): ReturnType<typeof load> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const ok =
        validateSignature(raw, SECRET, String(req.headers['x-line-signature'])) &&
        Array.isArray((JSON.parse(raw.toString('utf8')) as WebhookBody).events);
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  const url = await listen(server);
  const r = await load(`${url}/webhook/24201`, poolFile, SECONDS, CONNECTIONS);
  await new Promise((r) => server.close(r));
  return r;
}

async function bare(poolFile: string, connections: number): ReturnType<typeof load> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  const url = await listen(server);
  const r = await load(`${url}/webhook/24201`, poolFile, SECONDS, connections);
  await new Promise((r) => server.close(r));
  return r;
}

/** An event log that keeps nothing (for the ceiling run only): appends resolve at once. */
function nullLog(): EventLog {
  const at = { seq: 0, end: 0, events: 0 };
  return {
    id: 'keeps-nothing',
    append: async () => undefined,
    head: () => 0,
    read: () => [],
    position: () => at,
    commit: async () => undefined,
    note: () => undefined,
    setNote: async () => undefined,
    onAppend: () => undefined,
    status: () => ({ healthy: true, bytes: 0, maxBytes: 0, consumers: {} }),
    close: async () => undefined,
  };
}

export async function benchIngest(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-ingest-'));
  const load1 = os.loadavg()[0]!.toFixed(2);
  try {
    const poolFile = path.join(dir, 'pool.json');
    makePool(poolFile, 'A');
    const outagePoolFile = path.join(dir, 'pool-outage.json');
    const outageIds = makePool(outagePoolFile, 'B');

    const steps = receiveSteps(poolFile);
    console.log(
      `receiver steps, CPU per request: signature (HMAC-SHA256) ${steps.hmac_us} µs, JSON parse + check ${steps.parse_us} µs`,
    );
    const bareFirst = await bare(poolFile, CONNECTIONS);
    const verifying50 = await bareVerifying(poolFile);

    // Tayori's receiver, as the suite mounts it; LINE's reply API stood in for by a server that answers 200
    const replies = { n: 0 };
    const lineStub = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        replies.n++;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
        res.end('{}');
      });
    });
    const lineUrl = await listen(lineStub);
    const logger = createLogger('error');
    const ch = await openClickHouse({ kind: 'embedded', path: path.join(dir, 'clickhouse') });
    await migrate(ch);
    const redisServer = await startLocalRedis({ dir: path.join(dir, 'redis') });
    const redis = connectRedis(redisServer.url);
    const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
    for (const [id, name] of [
      ['24201', '津市'],
      ['24202', '四日市市'],
      ['24203', '伊勢市'],
      ['24204', '松阪市'],
    ] as const) {
      await tenants.add({ id, name, kind: 'municipality', botUserId: BOT });
      await tenants.setCredentials(id, { channelSecret: SECRET, channelAccessToken: 'bench', lineApi: 'sandbox' });
    }
    const fault = faulty(ch);
    const endpoints = () => ({ line: lineUrl, sandbox: lineUrl });
    const ingest: Ingest = createIngest({
      ch: fault.client,
      redis,
      tenants,
      endpoints,
      logger,
      eventLog: { dir: path.join(dir, 'event-log') },
      // diagnostic: BENCH_SHIP=deferred holds shipping back while measuring (what receiving alone costs)
      ...(process.env.BENCH_SHIP === 'deferred' ? { shipper: { intervalMs: 600_000, maxEntries: 10_000_000 } } : {}),
    });
    // a resident's tap: answered through the reply API while the token is fresh (as delivery's menu does)
    const clients = new Map<string, ReturnType<typeof lineClients>>();
    ingest.handlers.onPostback('bench:', async ({ tenantId, event }) => {
      if (!replyTokenUsable(event)) return;
      let c = clients.get(tenantId);
      if (!c) {
        const t = await ingest.tenantCache.get(tenantId);
        clients.set(tenantId, (c = lineClients(t!.credentials!, endpoints())));
      }
      await c.messaging.replyMessage({ replyToken: event.replyToken!, messages: [{ type: 'text', text: 'メニュー' }] });
    });
    await ingest.start();
    const front = new FrontHandlers();
    ingest.mount(front);
    const app = createHttpApp(logger, { front });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const settle = async (timeoutMs = 120_000) => {
      const until = Date.now() + timeoutMs;
      while (ingest.log.position('ship').seq < ingest.log.head() && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      await ingest.runner.drained();
    };

    // warm-up, not measured: JIT, the log's first segment, ClickHouse's first parts, and the reply
    // path (the account's client, its connections to the reply API) with the mixed run's account
    const warmPoolFile = path.join(dir, 'pool-warm.json');
    makePool(warmPoolFile, 'W', true);
    await load(`${base}/webhook/24204`, warmPoolFile, 3);

    // The receiver alone (signature, parse, checks, answer) on each event log, nothing shipped: a
    // log that keeps nothing (a ceiling, not a mode: the log's share of the gap to the bare server),
    // then the stores compared where it matters, at the receiver's own rate (the evidence for ours)
    const secrets = new TenantSecretsCache(tenants, logger);
    await secrets.reload();
    const receiverOn = async (log: EventLog, seconds: number) => {
      const front = new FrontHandlers();
      front.add(isWebhookRequest, createWebhookReceiver({ secrets, log, logger }), { forMachines: true });
      const app = createHttpApp(logger, { front });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const r = await load(
        `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/webhook/24201`,
        poolFile,
        seconds,
      );
      await app.close();
      await log.close();
      return r;
    };
    const noLog50 = await receiverOn(nullLog(), SECONDS);
    const storeSeconds = Math.max(3, Math.round(SECONDS / 2));
    const storeOpts = (name: string) => ({ dir: path.join(dir, `store-${name}`), maxBytes: 1024 ** 3, consumers: [] });
    const onLmdb = await receiverOn(new LmdbEventLog(storeOpts('lmdb')), storeSeconds);
    const onSegmentMain = await receiverOn(
      new SegmentEventLog({ ...storeOpts('main'), syncOnMain: true }),
      storeSeconds,
    );
    const onSegmentPool = await receiverOn(
      new SegmentEventLog({ ...storeOpts('pool'), syncOnMain: false }),
      storeSeconds,
    );

    await settle();
    ingest.shipper.stats.lags.length = 0;
    const batches0 = ingest.shipper.stats.batches;
    const rows0 = ingest.shipper.stats.rows;

    const tayori50 = await load(`${base}/webhook/24201`, poolFile);
    if (process.env.BENCH_SHIP === 'deferred') {
      console.log(
        `shipping deferred: Tayori (50) ${tayori50.rps.toFixed(0)} req/s p99 ${tayori50.p99_ms} ms ${tayori50.cpu_us} µs CPU/req, loop ${tayori50.loop_us} µs/req; bare ${bareFirst.rps.toFixed(0)} req/s ${bareFirst.cpu_us} µs CPU/req, loop ${bareFirst.loop_us} µs/req`,
      );
      return {
        ratio_ship_deferred: Number((tayori50.rps / bareFirst.rps).toFixed(3)),
        cpu_us_per_req: tayori50.cpu_us,
        bare_cpu_us_per_req: bareFirst.cpu_us,
        loop_us_per_req: tayori50.loop_us,
        bare_loop_us_per_req: bareFirst.loop_us,
        step_hmac_us: steps.hmac_us,
        step_parse_us: steps.parse_us,
      };
    }
    // the bare server again, and its better run is the reference: one run disturbed by other work on
    // the machine would otherwise flatter (or sink) every ratio below
    const bareAgain = await bare(poolFile, CONNECTIONS);
    const bare50 = bareAgain.rps > bareFirst.rps ? bareAgain : bareFirst;
    await settle();
    const shipLag = pct(ingest.shipper.stats.lags, 99);
    const batches50 = ingest.shipper.stats.batches - batches0;
    const rows50 = ingest.shipper.stats.rows - rows0;

    // residents waiting for replies: a fifth of the events are postbacks and messages, answered through
    // LINE's reply API (stood in for by lineStub) from the handlers; pool made now, so the tokens are fresh
    const mixedPoolFile = path.join(dir, 'pool-mixed.json');
    makePool(mixedPoolFile, 'M', true);
    ingest.runner.stats.lags.length = 0;
    const bareMixed = await bare(mixedPoolFile, CONNECTIONS);
    const mixed = await load(`${base}/webhook/24204`, mixedPoolFile);
    await settle();
    const handlerLag = pct(ingest.runner.stats.lags, 99);
    const handled = ingest.runner.stats.lags.length;

    // 256 connections, against the bare server too
    const bare256 = await bare(poolFile, 256);
    const tayori256 = await load(`${base}/webhook/24201`, poolFile, SECONDS, 256);
    await settle();

    // the outage: ClickHouse refuses writes for OUTAGE_SECONDS in the middle of a longer run
    const runSeconds = OUTAGE_SECONDS + 10;
    const ackFile = path.join(dir, 'acked.json');
    const outageRun = load(`${base}/webhook/24202`, outagePoolFile, runSeconds, CONNECTIONS, ackFile);
    let peakBacklog = 0;
    const watch = setInterval(() => (peakBacklog = Math.max(peakBacklog, ingest.status().backlog.events)), 200);
    await new Promise((r) => setTimeout(r, 5000));
    fault.state.down = true;
    await new Promise((r) => setTimeout(r, OUTAGE_SECONDS * 1000));
    fault.state.down = false;
    const outage = await outageRun;
    clearInterval(watch);
    const drainStart = Date.now();
    await settle();
    const drainMs = Date.now() - drainStart;
    const shipFailures = ingest.shipper.stats.failures;

    await app.close();
    await ingest.stop();

    const q = async (query: string) =>
      (await (await ch.query({ query, format: 'JSONEachRow' })).json<Record<string, string>>())[0]!;
    const stored = await q(
      "SELECT count() AS n, uniqExact(webhook_event_id) AS ids FROM raw_webhook_events FINAL WHERE tenant_id = '24201'",
    );
    const rolled = await q("SELECT sum(events) AS events FROM webhook_events_per_day FINAL WHERE tenant_id = '24201'");
    const sent = Math.min(Math.max(tayori50.sent, tayori256.sent), POOL);
    const exactlyOnce = Number(stored.ids) === sent && Number(stored.n) === sent && Number(rolled.events) === sent;

    const acked = JSON.parse(fs.readFileSync(ackFile, 'utf8')) as number[];
    const storedOutage = new Set(
      (
        await (
          await ch.query({
            query: "SELECT webhook_event_id AS id FROM raw_webhook_events FINAL WHERE tenant_id = '24202'",
            format: 'JSONEachRow',
          })
        ).json<{ id: string }>()
      ).map((r) => r.id),
    );
    const outageLost = acked.filter((i) => !storedOutage.has(outageIds[i]!)).length;
    const outageRows = Number(
      (await q("SELECT count() AS n FROM raw_webhook_events FINAL WHERE tenant_id = '24202'")).n,
    );
    await redis.quit();
    await redisServer.stop();
    await ch.close();
    await new Promise((r) => lineStub.close(r));
    const load2 = os.loadavg()[0]!.toFixed(2);

    const ratio = tayori50.rps / bare50.rps;
    const ratio256 = tayori256.rps / bare256.rps;
    console.log(`load average (1 min): ${load1} before, ${load2} after — other work shares the 2 cores`);
    console.log(
      `bare http (50), the better of two runs (${bareFirst.rps.toFixed(0)}, ${bareAgain.rps.toFixed(0)}):  ${bare50.rps.toFixed(0)} req/s  p50 ${bare50.p50_ms} ms  p99 ${bare50.p99_ms} ms  ${bare50.cpu_us} µs CPU/req, event loop busy ${bare50.loop_us} µs/req`,
    );
    console.log(
      `Tayori (50):     ${tayori50.rps.toFixed(0)} req/s (= events/s)  p50 ${tayori50.p50_ms} ms  p99 ${tayori50.p99_ms} ms  non-2xx ${tayori50.non2xx}  errors ${tayori50.errors}  ${tayori50.cpu_us} µs CPU/req (server, log, shipper, chDB), event loop busy ${tayori50.loop_us} µs/req`,
    );
    console.log(
      `bare http that checks the signature and parses the JSON (what LINE asks of any receiver): ${verifying50.rps.toFixed(0)} req/s  p50 ${verifying50.p50_ms} ms  ${verifying50.cpu_us} µs CPU/req, ratio ${(verifying50.rps / bare50.rps).toFixed(3)}`,
    );
    console.log(
      `receiver with a log that keeps nothing (a ceiling: the signature, parse, checks and answer alone): ${noLog50.rps.toFixed(0)} req/s  p50 ${noLog50.p50_ms} ms  ${noLog50.cpu_us} µs CPU/req, ratio ${(noLog50.rps / bare50.rps).toFixed(3)}`,
    );
    const storeText = (r: typeof noLog50) =>
      `${r.rps.toFixed(0)} req/s p99 ${r.p99_ms} ms ${r.cpu_us} µs CPU/req (loop ${r.loop_us})`;
    console.log(
      `the receiver on each event log store (nothing shipped, ${storeSeconds} s each): LMDB (lmdb-js, commit and sync on its threads) ${storeText(onLmdb)}; ` +
        `segment files, O_DSYNC group write on the main thread (ours) ${storeText(onSegmentMain)}; the same on libuv's pool (TAYORI_EVENT_LOG_SYNC=pool) ${storeText(onSegmentPool)}`,
    );
    const threadsText = (t: Record<string, number>) =>
      Object.entries(t)
        .filter(([, us]) => us >= 0.5)
        .map(([k, us]) => `${k} ${us}`)
        .join(', ');
    console.log(
      `CPU µs per request by thread — bare: ${threadsText(bare50.threads)}; loader ${bare50.loader_cpu_us?.toFixed(1)} | ` +
        `Tayori: ${threadsText(tayori50.threads)}; loader ${tayori50.loader_cpu_us?.toFixed(1)} ` +
        `(2 cores: rate ≈ 2e6 / (server + loader µs) when both are busy)`,
    );
    console.log(
      `shipper: ${batches50} INSERT batches, ${(rows50 / Math.max(1, batches50)).toFixed(0)} rows each; ship lag p99 ${shipLag} ms (ack → in ClickHouse)`,
    );
    console.log(
      `with 10 % postbacks + 10 % messages replied to: ${mixed.rps.toFixed(0)} req/s (bare ${bareMixed.rps.toFixed(0)}, ratio ${(mixed.rps / bareMixed.rps).toFixed(3)})  p99 ${mixed.p99_ms} ms; ` +
        `handler lag p99 ${handlerLag} ms over ${handled} handled events (ack → done, replies included; ${replies.n} replies sent)`,
    );
    console.log(`bare http (256): ${bare256.rps.toFixed(0)} req/s  p99 ${bare256.p99_ms} ms`);
    console.log(
      `Tayori (256):    ${tayori256.rps.toFixed(0)} req/s  p50 ${tayori256.p50_ms} ms  p99 ${tayori256.p99_ms} ms  non-2xx ${tayori256.non2xx}  ratio ${ratio256.toFixed(3)}`,
    );
    console.log(
      `outage (${OUTAGE_SECONDS} s of refused INSERTs in ${runSeconds} s): ${outage.rps.toFixed(0)} req/s, statuses ${JSON.stringify(outage.statuses)}, ` +
        `backlog peak ${peakBacklog} events, ${shipFailures} failed INSERT attempts, drained in ${drainMs} ms after the load; ` +
        `${acked.length} acknowledged, ${outageRows} stored, lost ${outageLost}`,
    );
    console.log(
      `stored: ${stored.ids} distinct events (expected ${sent}), rows after FINAL ${stored.n}, rollup ${rolled.events}; exactly once: ${exactlyOnce ? 'yes' : 'NO'}`,
    );
    console.log(
      `ratio ${ratio.toFixed(3)} (goal ≥ 0.7), p99 ${tayori50.p99_ms} ms (≤ 25), ship lag p99 ${shipLag} ms (≤ 2000), handler lag p99 ${handlerLag} ms (≤ 1000), outage lost ${outageLost} (0)`,
    );
    return {
      bench: 'ingest',
      ratio: Number(ratio.toFixed(3)),
      p50_ms: tayori50.p50_ms,
      p99_ms: tayori50.p99_ms,
      ship_lag_p99_ms: shipLag,
      handler_lag_p99_ms: handlerLag,
      outage_lost: outageLost,
      ratio_256: Number(ratio256.toFixed(3)),
      ratio_without_log: Number((noLog50.rps / bare50.rps).toFixed(3)),
      ratio_bare_verifying: Number((verifying50.rps / bare50.rps).toFixed(3)),
      ratio_with_replies: Number((mixed.rps / bareMixed.rps).toFixed(3)),
      p99_ms_256: tayori256.p99_ms,
      tayori_rps: Math.round(tayori50.rps),
      step_hmac_us: steps.hmac_us,
      step_parse_us: steps.parse_us,
      cpu_us_per_req: tayori50.cpu_us,
      bare_cpu_us_per_req: bare50.cpu_us,
      loop_us_per_req: tayori50.loop_us,
      bare_loop_us_per_req: bare50.loop_us,
      threads_us_per_req: tayori50.threads,
      bare_threads_us_per_req: bare50.threads,
      loader_cpu_us_per_req: tayori50.loader_cpu_us,
      bare_loader_cpu_us_per_req: bare50.loader_cpu_us,
      bare_rps: Math.round(bare50.rps),
      non2xx: tayori50.non2xx + tayori256.non2xx,
      exactly_once: exactlyOnce,
      receiver_on_lmdb_rps: Math.round(onLmdb.rps),
      receiver_on_lmdb_cpu_us: onLmdb.cpu_us,
      receiver_on_segments_rps: Math.round(onSegmentMain.rps),
      receiver_on_segments_cpu_us: onSegmentMain.cpu_us,
      receiver_on_segments_pool_rps: Math.round(onSegmentPool.rps),
      receiver_on_segments_pool_cpu_us: onSegmentPool.cpu_us,
      load_avg_1m: [Number(load1), Number(load2)],
      connections: CONNECTIONS,
      seconds: SECONDS,
      goal: 'ratio >= 0.7, p99_ms <= 25, ship_lag_p99_ms <= 2000, handler_lag_p99_ms <= 1000, outage_lost = 0',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
