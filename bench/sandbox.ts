/**
 * npm run bench -- sandbox
 *
 * The sandbox must not be the bottleneck of a delivery (issue 3): it accepts multicast at 2,000
 * requests/s and keeps per-resident receipt counts for 2,000,000 residents in memory.
 *
 * One channel of 2,000,000 residents (all friends; follow/block rates and fatigue blocks set to 0
 * so that the population stands still and the receipt check is exact), the multicast rate limit
 * raised out of the way. A load generator in its own process (autocannon; this file run with
 * `--load`) sends multicasts as Tayori's delivery workers do: 500 distinct recipients each (the
 * friend list cut into 4,000 consecutive slices, cycled, so every resident is reached every
 * 4,000 requests), one text message, a custom aggregation unit, notificationDisabled, a fresh
 * X-Line-Retry-Key per request.
 *
 * First the same load runs against a bare node:http server that reads the body and answers
 * `{}` — the ceiling of this machine for such requests — then against the sandbox. Afterwards the
 * receipts are checked: every accepted request recorded 500 distinct recipients, the receipt
 * totals equal accepted requests × 500, and every resident's count equals the number of accepted
 * requests that named it (recounted from the request log).
 *
 * Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 16), BENCH_RESIDENTS
 * (default 2000000), BENCH_BARE=0 to skip the bare-server run, BENCH_PROFILE=FILE to write a CPU
 * profile (.cpuprofile, for Chrome DevTools) of the sandbox during the load only.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFigures, runLoad, type LoadResult } from './load-result.ts';

const here = fileURLToPath(import.meta.url);
const BATCH = 500;
const CHANNEL_ID = '2000099999';
const TOKEN = 'bench-sandbox-token';

const mb = (n: number) => Math.round(n / 1048576);

function load(url: string, idsFile: string, seconds: number, connections: number): Promise<LoadResult> {
  return runLoad(here, ['--load', url, String(seconds), String(connections), idsFile, TOKEN]);
}

export async function benchSandbox(): Promise<Record<string, unknown>> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
  const residents = Number(process.env.BENCH_RESIDENTS ?? 2_000_000);
  const withBare = process.env.BENCH_BARE !== '0';
  const { startSandbox } = await import('../sandbox/index.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-sandbox-'));
  const loadBefore = os.loadavg();
  try {
    const t0 = performance.now();
    const sandbox = await startSandbox({
      config: {
        channels: [
          {
            channelId: CHANNEL_ID,
            botUserId: `U${'5'.repeat(32)}`,
            channelSecret: 'bench-secret',
            channelAccessToken: TOKEN,
            displayName: 'ベンチ県',
            residents: {
              count: residents,
              seed: 42,
              initialFriendRatio: 1,
              followRatePerDay: 0,
              blockRatePerDay: 0,
              unblockRatePerDay: 0,
              fatigueBlockProbability: 0,
            },
          },
        ],
        rateLimits: { multicastPerSecond: 100_000, defaultPerSecond: 100_000 },
      },
    });
    const channel = sandbox.world.channels()[0]!;
    const ids = channel.followerIds();
    const startMs = performance.now() - t0;
    const idsFile = path.join(dir, 'ids.txt');
    fs.writeFileSync(idsFile, ids.join('\n'));
    console.log(
      `sandbox: ${residents.toLocaleString()} residents, ${ids.length.toLocaleString()} friends, ready in ${(startMs / 1000).toFixed(1)} s`,
    );

    let bare: LoadResult | undefined;
    if (withBare) {
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': 2,
            'x-line-request-id': randomUUID(),
          });
          res.end('{}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      bare = await load(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, idsFile, seconds, connections);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      console.log(`bare http:  ${bare.rps.toFixed(0)} req/s  p50 ${bare.p50_ms} ms  p99 ${bare.p99_ms} ms`);
    }

    const profiler = process.env.BENCH_PROFILE ? await startProfile() : undefined;
    const cpu0 = process.cpuUsage();
    const result = await load(sandbox.url, idsFile, seconds, connections);
    const cpu = process.cpuUsage(cpu0);
    if (profiler) fs.writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(await profiler()));
    await sandbox.world.settle();

    // Receipts check.
    const book = sandbox.api.state.book(CHANNEL_ID);
    const summary = book.summary();
    const accepted = book.accepted().filter((r) => r.kind === 'multicast');
    const recount = new Uint32Array(residents);
    const stamp = new Int32Array(residents).fill(-1);
    let badRequests = 0;
    let unlisted = 0;
    accepted.forEach((r, k) => {
      if (r.recipients.length === 0 && r.recipientCount > 0) {
        // Too old to be listed (over the receipt book's bound): only counted.
        unlisted++;
        return;
      }
      let distinct = 0;
      for (const i of r.recipients) {
        if (stamp[i] !== k) {
          stamp[i] = k;
          distinct++;
        }
        recount[i]!++;
      }
      if (r.recipients.length !== BATCH || distinct !== BATCH) badRequests++;
    });
    let countMismatches = 0;
    let reached = 0;
    for (let i = 0; i < residents; i++) {
      const c = book.countAt(i);
      if (c !== recount[i]) countMismatches++;
      if (c > 0) reached++;
    }
    const totalsOk = summary.totalReceipts === accepted.length * BATCH && summary.acceptedRequests === accepted.length;
    const exact =
      totalsOk &&
      unlisted === 0 &&
      badRequests === 0 &&
      countMismatches === 0 &&
      accepted.length >= result.ok &&
      accepted.length <= result.sent;
    global.gc?.();
    const mem = process.memoryUsage();
    const loadAfter = os.loadavg();
    await sandbox.close();

    const recipientsPerSecond = result.rps * BATCH;
    const serverCpuMsPerRequest = (cpu.user + cpu.system) / 1000 / Math.max(1, result.total);
    console.log(
      `sandbox:    ${result.rps.toFixed(0)} multicast/s = ${Math.round(recipientsPerSecond).toLocaleString()} recipients/s  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  ` +
        `non-2xx ${result.non2xx} ${JSON.stringify(result.statuses)}  errors ${result.errors}  timeouts ${result.timeouts}`,
    );
    const cpuCapacity = 1000 / serverCpuMsPerRequest;
    console.log(
      `server CPU: ${serverCpuMsPerRequest.toFixed(3)} ms per multicast (user+system of this process, incl. the world's simulation) → ` +
        `~${Math.round(cpuCapacity)} multicast/s if one core were the sandbox's alone (an estimate, not a measurement)`,
    );
    if (bare)
      console.log(
        `vs bare:    ${(result.rps / bare.rps).toFixed(3)} of a bare node:http server reading the same bodies`,
      );
    console.log(
      `receipts:   ${accepted.length} accepted multicasts (2xx seen by the client ${result.ok}, sent ${result.sent}), ${summary.totalReceipts.toLocaleString()} receipts, ` +
        `${reached.toLocaleString()} residents reached; requests without 500 distinct recipients ${badRequests}; per-resident count mismatches ${countMismatches}` +
        (unlisted ? `; ${unlisted} requests too old to recount (use a shorter BENCH_SECONDS)` : '') +
        ` → ${exact ? 'every recipient counted exactly once per request' : 'MISMATCH'}`,
    );
    console.log(
      `memory:     rss ${mb(mem.rss)} MB, heap ${mb(mem.heapUsed)} MB, array buffers ${mb(mem.arrayBuffers)} MB (after the run, ${residents.toLocaleString()} residents)`,
    );
    console.log(
      `machine:    ${os.cpus().length} cores, load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after (load generator and other work share the cores)`,
    );
    console.log(`goal:       multicast_rps ≥ 2000 — ${result.rps >= 2000 ? 'met' : 'not met'}`);
    return {
      bench: 'sandbox',
      multicast_rps: Math.round(result.rps),
      recipients_per_s: Math.round(recipientsPerSecond),
      p50_ms: result.p50_ms,
      p99_ms: result.p99_ms,
      non2xx: result.non2xx,
      errors: result.errors,
      server_cpu_ms_per_request: Number(serverCpuMsPerRequest.toFixed(3)),
      one_core_estimate_rps: Math.round(cpuCapacity),
      ...(bare ? { bare_rps: Math.round(bare.rps), ratio_to_bare: Number((result.rps / bare.rps).toFixed(3)) } : {}),
      accepted_requests: accepted.length,
      total_receipts: summary.totalReceipts,
      residents_reached: reached,
      receipts_exact: exact,
      residents,
      rss_mb: mb(mem.rss),
      heap_mb: mb(mem.heapUsed),
      connections,
      seconds,
      cores: os.cpus().length,
      load_average: Number(loadBefore[0]!.toFixed(2)),
      goal: 'multicast_rps >= 2000',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the V8 profiler in this process; the returned function stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) =>
      session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

/** The load generator (its own process): argv --load <url> <seconds> <connections> <ids file> <token>. */
async function loadGenerator(argv: string[]): Promise<void> {
  const [url, seconds, connections, file, token] = argv;
  const { default: autocannon } = (await import('autocannon')) as {
    default: (opts: Record<string, unknown>) => Promise<any>;
  };
  const ids = fs.readFileSync(file!, 'utf8').split('\n');
  const bodies: string[] = [];
  const message = JSON.stringify([
    {
      type: 'text',
      text: '【ベンチ県】健康マイレージのお知らせです。詳しくは https://example.jp/health をご覧ください。',
    },
  ]);
  for (let from = 0; from + BATCH <= ids.length; from += BATCH) {
    const to = JSON.stringify(ids.slice(from, from + BATCH));
    bodies.push(
      `{"to":${to},"messages":${message},"notificationDisabled":true,"customAggregationUnits":["bench_sandbox"]}`,
    );
  }
  ids.length = 0;
  let sent = 0;
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url: `${url}/v2/bot/message/multicast`,
    method: 'POST',
    duration: Number(seconds),
    connections: Number(connections),
    pipelining: 1,
    requests: [
      {
        setupRequest(req: Record<string, unknown>) {
          const body = bodies[sent++ % bodies.length]!;
          return {
            ...req,
            method: 'POST',
            body,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${token}`,
              'x-line-retry-key': randomUUID(),
            },
          };
        },
        onResponse(status: number) {
          statuses[status] = (statuses[status] ?? 0) + 1;
        },
      },
    ],
  });
  for (const k of Object.keys(statuses)) if (k.startsWith('2')) delete statuses[k];
  console.log(JSON.stringify(loadFigures(result, sent, statuses)));
}

if (process.argv[2] === '--load' && process.argv[1] && path.resolve(process.argv[1]) === here) {
  await loadGenerator(process.argv.slice(3));
  process.exit(0);
}
