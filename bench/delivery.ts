/**
 * npm run bench -- delivery [--recipients 2000000] [--limit 200|2000|both] [--runs R] [--audience all|segment]
 *
 * Seeds N residents (all friends) for one tenant, sends one text message to all of them through
 * Tayori's fan-out (ClickHouse audience → chunks of ready-made batches of 500 in Redis → BullMQ
 * chunk jobs → multicast under the channel's rate limit; "all friends", but by multicast, since a
 * broadcast would be one request) against the sandbox running in its own process with its
 * multicast limit at L/s, and prints the time from "send" to the last batch accepted by the
 * sandbox, batches/s, and the ratio to the floor the limit sets (N / 500 / L seconds). Afterwards
 * the sandbox's receipts are checked: every resident received it exactly once. Default: both
 * limits (200 and 2,000/s); `ratio` is the one at LINE's default 200/s.
 *
 * Tayori, the sandbox and redis-server share the machine's cores: each one's CPU time per batch, the
 * load average at the start and the CPU time the hypervisor stole are printed too. At 2,000/s the
 * run is CPU-bound on 2 cores and single runs vary by a fifth, so R deliveries are measured (each
 * to its own tenant and channel of N residents, one after the other in the same processes; R = 3 at
 * 2,000/s, 1 at 200/s by default) and the figures are those of the median run; every run is printed.
 *
 * BENCH_PROFILE=PREFIX writes CPU profiles from "send" to the end of the delivery, of this process
 * (Tayori: ClickHouse client, fan-out workers) to PREFIX-<limit>[-<run>].cpuprofile and of the
 * sandbox to PREFIX-sandbox-<limit>.cpuprofile (the last run), for Chrome DevTools; BENCH_DEBUG=1 prints progress (batches
 * cut, settled, event-loop stalls, each process's CPU time) every 200 ms and when the sandbox accepted
 * the last batches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { SecretBox } from '../core/crypto.ts';
import { createLogger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { startLocalRedis } from '../core/redis-server.ts';
import { TenantStore } from '../core/tenants.ts';
import { chDateTime } from '../core/time.ts';
import { createDelivery } from '../delivery/index.ts';

const here = fileURLToPath(import.meta.url);
const TENANT = '24000';
const BATCH = 500;
const WARM = 100_000;
const WARM_TENANT = '24201';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

// ------------------------------------------------------------------ sandbox child process
if (process.argv[2] === '--sandbox-child') {
  const { startSandbox } = await import('../sandbox/index.ts');
  const [configFile, idsFile] = [process.argv[3]!, process.argv[4]!];
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const sandbox = await startSandbox({ config });
  for (const [i, c] of (config.channels as Array<{ channelId: string }>).entries()) {
    const ids = sandbox.world.byChannelId(c.channelId)!.followerIds();
    const out = fs.createWriteStream(`${idsFile}.${i}`);
    for (let k = 0; k < ids.length; k += 10_000) out.write(ids.slice(k, k + 10_000).join('\n') + '\n');
    await new Promise<void>((r) => out.end(r));
  }
  // The id lists just written are the bench's own garbage (millions of strings the world holds
  // weakly): collected now, not by the measured deliveries' first full collections.
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
    (globalThis as { gc?: () => void }).gc?.();
  }
  // SIGUSR2: print the CPU time this process used so far (the parent measures the sandbox's share);
  // with BENCH_PROFILE, the first signal starts a CPU profile and the second writes it
  let profiling: Promise<() => Promise<unknown>> | undefined;
  process.on('SIGUSR2', () => {
    const c = process.cpuUsage();
    if (process.env.BENCH_PROFILE) {
      if (!profiling) profiling = startProfile();
      else {
        const stop = profiling;
        profiling = undefined;
        void stop
          .then((f) => f())
          .then((prof) =>
            fs.writeFileSync(
              `${process.env.BENCH_PROFILE}-sandbox-${config.rateLimits.multicastPerSecond}.cpuprofile`,
              JSON.stringify(prof),
            ),
          );
      }
    }
    console.log(`cpu ${(c.user + c.system) / 1000}`);
  });
  console.log(`ready ${sandbox.url}`);
  process.on('SIGTERM', () => void sandbox.close().then(() => process.exit(0)));
}

async function startSandboxChild(
  dir: string,
  recipients: number,
  limit: number,
  channels: ReadonlyArray<{ channelId: string; token: string }>,
  warm: { channelId: string; token: string },
): Promise<{ child: ChildProcess; url: string; ids: string; cpuMs(): Promise<number> }> {
  const configFile = path.join(dir, `sandbox-${limit}.json`);
  const ids = path.join(dir, `ids-${limit}.txt`);
  const residents = (count: number, seed: number) => ({
    count,
    seed,
    initialFriendRatio: 1,
    followRatePerDay: 0,
    blockRatePerDay: 0,
    unblockRatePerDay: 0,
    fatigueBlockProbability: 0,
  });
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      channels: [
        // one channel (and its residents) per measured delivery: each one's receipts show it went to every resident once
        ...channels.map((c, i) => ({
          channelId: c.channelId,
          botUserId: `U${String(i).repeat(32)}`,
          channelSecret: 'bench-secret',
          channelAccessToken: c.token,
          residents: residents(recipients, 24 + i),
        })),
        // warm-up channel: both processes run a first delivery before the measured ones
        {
          channelId: warm.channelId,
          botUserId: `U${'f'.repeat(32)}`,
          channelSecret: 'bench-secret',
          channelAccessToken: warm.token,
          residents: residents(WARM, 99),
        },
      ],
      rateLimits: { multicastPerSecond: limit },
    }),
  );
  // The sandbox stands in for LINE's servers: its heap starts at 512 MB, so that the external memory
  // of request bodies does not set off a full collection every quarter second while its heap is
  // still small (9 in the first measured delivery, 224 ms, against 1 and 112 ms with it).
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=8192',
      '--initial-old-space-size=512',
      '--expose-gc',
      '--import',
      'tsx',
      here,
      '--sandbox-child',
      configFile,
      ids,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /ready (http:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`sandbox child exited: ${out}`));
      }
    }, 100);
  });
  return {
    child,
    url,
    ids,
    /** The sandbox process's CPU time so far, ms. */
    async cpuMs() {
      const before = out.length;
      child.kill('SIGUSR2');
      for (let i = 0; i < 100; i++) {
        const m = /cpu ([\d.]+)\n/.exec(out.slice(before));
        if (m) return Number(m[1]);
        await new Promise((r) => setTimeout(r, 20));
      }
      return NaN;
    },
  };
}

async function seedResidents(ch: ClickHouseClient, idsFile: string, tenant: string): Promise<number> {
  const ids = fs.readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
  const at = chDateTime(Date.parse('2026-01-01T00:00:00Z'));
  for (let i = 0; i < ids.length; i += 200_000) {
    await ch.insert({
      table: 'resident_states',
      format: 'JSONEachRow',
      values: ids
        .slice(i, i + 200_000)
        .map((u) => ({ tenant_id: tenant, user_id: u, is_friend: 1, changed_at: at, version: 1 })),
    });
  }
  return ids.length;
}

interface RunResult {
  limit: number;
  recipients: number;
  batches: number;
  seconds: number;
  floor_seconds: number;
  ratio: number;
  batches_per_s: number;
  first_batch_s: number;
  cpu_ms_per_batch: number;
  exactly_once: boolean;
  accepted: number;
  failed: number;
  /** 1-minute load average when the delivery started (other work on the machine). */
  load_average: number;
  /** The sandbox process's CPU time per batch (it shares the machine's cores with Tayori). */
  sandbox_cpu_ms_per_batch: number;
  /** redis-server's CPU time per batch (queues, progress, pacing). */
  redis_cpu_ms_per_batch: number;
  /** CPU time the hypervisor gave other guests while this run waited for it (all cores, ms): noise. */
  steal_ms: number;
}

const RUN_TENANTS = [
  { id: TENANT, name: '三重県', kind: 'prefecture' as const },
  { id: '24202', name: '四日市市', kind: 'municipality' as const },
  { id: '24203', name: '伊勢市', kind: 'municipality' as const },
  { id: '24204', name: '松阪市', kind: 'municipality' as const },
  { id: '24205', name: '桑名市', kind: 'municipality' as const },
];

/** `runs` measured deliveries at one limit (each to its own channel of `recipients` residents). */
async function runLimit(dir: string, recipients: number, limit: number, runs: number): Promise<RunResult[]> {
  const base = `30000${limit}`.padEnd(9, '0');
  const token = `bench-${limit}-${randomBytes(4).toString('hex')}`;
  const channels = Array.from({ length: runs }, (_, j) => ({ channelId: `${base}${j}`, token: `${token}-${j}` }));
  const warm = { channelId: `${base}9`, token: `${token}-warm` };
  const sb = await startSandboxChild(dir, recipients, limit, channels, warm);
  const logger = createLogger('warn');
  const chDir = path.join(dir, `clickhouse`);
  const ch = await openClickHouse({ kind: 'embedded', path: chDir });
  const redisServer = await startLocalRedis({ dir: path.join(dir, `redis-${limit}`) });
  try {
    await migrate(ch);
    const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
    const credentials = async (
      t: { id: string; name: string; kind: 'prefecture' | 'municipality' },
      c: { channelId: string; token: string },
    ) => {
      if (!(await tenants.get(t.id))) await tenants.add(t);
      await tenants.setCredentials(t.id, {
        channelId: c.channelId,
        channelSecret: 'bench-secret',
        channelAccessToken: c.token,
        lineApi: 'sandbox',
      });
    };
    await ch.command({ query: `TRUNCATE TABLE resident_states` });
    for (const [j, c] of channels.entries()) {
      await credentials(RUN_TENANTS[j]!, c);
      await seedResidents(ch, `${sb.ids}.${j}`, RUN_TENANTS[j]!.id);
    }
    await credentials({ id: WARM_TENANT, name: '津市', kind: 'municipality' }, warm);
    await seedResidents(ch, `${sb.ids}.${runs}`, WARM_TENANT);
    await ch.command({ query: 'OPTIMIZE TABLE resident_states FINAL' });
    console.log(`limit ${limit}/s: ${recipients} residents seeded for each of ${runs} channel(s)`);

    const delivery = createDelivery({
      ch,
      redisUrl: redisServer.url,
      tenants,
      logger,
      endpoints: () => ({ line: 'http://127.0.0.1:1', sandbox: sb.url }),
      fanOut: { multicastPerSecond: limit },
    });
    await delivery.start();
    try {
      const w = await delivery.service.create(
        WARM_TENANT,
        {
          title: '準備',
          messages: [{ type: 'text', text: '準備運転' }],
          sendMethod: 'multicast',
          send: 'now',
        },
        { actor: { kind: 'operator' } },
      );
      await delivery.waitFinished(WARM_TENANT, w.id, 10 * 60_000);
      const results: RunResult[] = [];
      for (const [j, c] of channels.entries()) {
        await quiet(sb);
        // the bench's own garbage (the seeding's rows: hundreds of MB) is collected now, not by the measured delivery
        for (let i = 0; i < 2; i++) {
          (globalThis as { gc?: () => void }).gc?.();
          await new Promise((r) => setTimeout(r, 10));
        }
        const label = runs > 1 ? `limit ${limit}/s, run ${j + 1}/${runs}` : `limit ${limit}/s`;
        results.push(
          await measureOne({
            sb,
            ch,
            redisServer,
            delivery,
            tenant: RUN_TENANTS[j]!.id,
            channelId: c.channelId,
            recipients,
            limit,
            label,
            profileName: runs > 1 ? `${limit}-${j + 1}` : `${limit}`,
          }),
        );
      }
      return results;
    } finally {
      await delivery.stop();
    }
  } finally {
    await redisServer.stop();
    await ch.close();
    sb.child.kill('SIGTERM');
  }
}

/**
 * Waits until the sandbox process has used less than 10% of a core for half a second (at most a
 * minute), starting a second after the last delivery: the sandbox simulates its recipients' reading
 * once requests have stopped for half a second, and that should not run into the next measurement.
 */
async function quiet(sb: { cpuMs(): Promise<number> }): Promise<void> {
  const until = Date.now() + 60_000;
  await new Promise((r) => setTimeout(r, 1000));
  let before = await sb.cpuMs();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await sb.cpuMs();
    if (now - before < 50) return;
    before = now;
  }
}

interface MeasureInput {
  sb: { child: ChildProcess; url: string; cpuMs(): Promise<number> };
  ch: ClickHouseClient;
  redisServer: { pid: number };
  delivery: ReturnType<typeof createDelivery>;
  tenant: string;
  channelId: string;
  recipients: number;
  limit: number;
  label: string;
  profileName: string;
}

async function measureOne({
  sb,
  ch,
  redisServer,
  delivery,
  tenant,
  channelId,
  recipients,
  limit,
  label,
  profileName,
}: MeasureInput): Promise<RunResult> {
  const load = os.loadavg()[0]!;
  const profiler = process.env.BENCH_PROFILE ? await startProfile() : undefined;
  const steal0 = stealMs();
  const sandboxCpu0 = await sb.cpuMs();
  const redisCpu0 = procCpuMs(redisServer.pid);
  const sandboxProc0 = procCpuMs(sb.child.pid!);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  // all friends, but by multicast: this bench measures the fan-out (a broadcast is one request)
  // --audience segment: the same residents through the segment path (a window of friends, then a set
  // per condition): "not answered 性別", which every seeded resident matches
  const audience =
    arg('audience', 'all') === 'segment'
      ? { type: 'segment' as const, condition: { not: { attr: 'gender', op: 'exists' as const } } }
      : { type: 'all' as const };
  const d = await delivery.service.create(
    tenant,
    {
      title: 'ベンチマーク',
      messages: [{ type: 'text', text: '健康マイレージのお知らせ' }],
      audience,
      sendMethod: 'multicast',
      send: 'now',
    },
    { actor: { kind: 'operator' } },
  );
  const trace: string[] = [];
  // BENCH_DEBUG: every 200 ms, batches cut and settled, the longest event-loop stall and the CPU
  // time each process used so far (Tayori, sandbox, redis-server)
  const lag = monitorEventLoopDelay({ resolution: 2 });
  if (process.env.BENCH_DEBUG) lag.enable();
  const tracer = process.env.BENCH_DEBUG
    ? setInterval(() => {
        const stall = lag.max / 1e6;
        lag.reset();
        const cpu = process.cpuUsage(cpu0);
        const cpus = `cpu ms Tayori ${((cpu.user + cpu.system) / 1000).toFixed(0)} sandbox ${(procCpuMs(sb.child.pid!) - sandboxProc0).toFixed(0)} redis ${(procCpuMs(redisServer.pid) - redisCpu0).toFixed(0)}`;
        void delivery.fanOut.state
          .progress(d.id)
          .then(
            (p) =>
              p &&
              trace.push(
                `${Date.now() - t0}ms cut ${p.enqueued} settled ${p.settled} stall ${stall.toFixed(0)}ms ${cpus}`,
              ),
          );
      }, 200)
    : undefined;
  let firstBatch = NaN;
  for (;;) {
    const p = await delivery.fanOut.state.progress(d.id);
    if (p && p.acceptedBatches + p.failedBatches > 0) {
      firstBatch = (Date.now() - t0) / 1000;
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const final = await delivery.waitFinished(tenant, d.id, 30 * 60_000);
  const cpu = process.cpuUsage(cpu0);
  const steal = stealMs() - steal0;
  const sandboxCpu = (await sb.cpuMs()) - sandboxCpu0;
  const redisCpu = procCpuMs(redisServer.pid) - redisCpu0;
  clearInterval(tracer);
  lag.disable();
  if (trace.length) console.log(`progress:\n  ${trace.join('\n  ')}`);
  if (profiler)
    fs.writeFileSync(`${process.env.BENCH_PROFILE}-${profileName}.cpuprofile`, JSON.stringify(await profiler()));
  const last = (await (await fetch(`${sb.url}/__sandbox/requests?channelId=${channelId}&limit=1`)).json()) as {
    requests: Array<{ acceptedAt: string }>;
  };
  const lastAccepted = Date.parse(last.requests.at(-1)!.acceptedAt);
  if (process.env.BENCH_DEBUG) {
    const all = (await (await fetch(`${sb.url}/__sandbox/requests?channelId=${channelId}&limit=100000`)).json()) as {
      requests: Array<{ acceptedAt: string }>;
    };
    const times = all.requests.map((r) => Date.parse(r.acceptedAt) - t0);
    const att = await (
      await ch.query({
        query: `SELECT sum(attempts) AS a, max(attempts) AS m FROM delivery_batches FINAL WHERE delivery_id = {id:String}`,
        query_params: { id: d.id },
        format: 'JSONEachRow',
      })
    ).json();
    console.log('attempts', JSON.stringify(att));
    console.log(
      `accepted at (ms after send): first ${times[0]}, 10% ${times[Math.floor(times.length / 10)]}, 50% ${times[Math.floor(times.length / 2)]}, last ${times.at(-1)} (${times.length} kept)`,
    );
  }
  const summary = (await (await fetch(`${sb.url}/__sandbox/channels/${channelId}/receipts`)).json()) as Record<
    string,
    number
  >;

  const seconds = (lastAccepted - t0) / 1000;
  const batches = Math.ceil(recipients / BATCH);
  const floor = batches / limit;
  const exactlyOnce =
    summary.totalRecipients === recipients &&
    summary.totalReceipts === recipients &&
    summary.residentsWithMultipleReceipts === 0;
  const r: RunResult = {
    limit,
    recipients,
    batches,
    seconds: Number(seconds.toFixed(3)),
    floor_seconds: Number(floor.toFixed(3)),
    ratio: Number((seconds / floor).toFixed(3)),
    batches_per_s: Number((batches / seconds).toFixed(1)),
    first_batch_s: Number(firstBatch.toFixed(3)),
    cpu_ms_per_batch: Number(((cpu.user + cpu.system) / 1000 / batches).toFixed(3)),
    exactly_once: exactlyOnce,
    accepted: final.accepted,
    failed: final.failed,
    load_average: Number(load.toFixed(2)),
    sandbox_cpu_ms_per_batch: Number((sandboxCpu / batches).toFixed(3)),
    redis_cpu_ms_per_batch: Number((redisCpu / batches).toFixed(3)),
    steal_ms: steal,
  };
  console.log(
    `${label}: ${recipients} recipients in ${batches} batches, send → last accepted ${r.seconds} s (floor ${r.floor_seconds} s), ` +
      `${r.batches_per_s} batches/s, first batch settled after ${r.first_batch_s} s, Tayori CPU ${r.cpu_ms_per_batch} ms/batch, sandbox CPU ${r.sandbox_cpu_ms_per_batch} ms/batch, redis CPU ${r.redis_cpu_ms_per_batch} ms/batch, ratio ${r.ratio}; status ${final.status}, accepted ${final.accepted}, failed ${final.failed}, exactly once: ${exactlyOnce ? 'yes' : 'NO'}; load average ${r.load_average} (${os.cpus().length} cores), CPU stolen by the hypervisor ${r.steal_ms} ms`,
  );
  return r;
}

/** CPU time stolen from this machine by the hypervisor so far, all cores, ms (NaN where /proc/stat has none). */
function stealMs(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    return Number(cpu[8]) * 10; // user nice system idle iowait irq softirq steal, in USER_HZ (100) ticks
  } catch {
    return NaN;
  }
}

/** CPU time (user + system) a process used so far, ms, from /proc (NaN where there is none). */
function procCpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Starts the V8 profiler in this process; the returned function stops it and gives the profile. */
async function startProfile(): Promise<() => Promise<unknown>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => (await session.post('Profiler.stop').finally(() => session.disconnect())).profile;
}

export async function benchDelivery(): Promise<Record<string, unknown>> {
  const recipients = Number(arg('recipients', '2000000'));
  const which = arg('limit', 'both');
  const limits = which === 'both' ? [200, 2000] : [Number(which)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tayori-bench-delivery-'));
  try {
    const byLimit = new Map<number, RunResult[]>();
    for (const limit of limits) {
      // at 2,000/s the run is CPU-bound on a machine shared with the sandbox, and one run says little: the median of three
      const runs = Math.max(1, Math.min(RUN_TENANTS.length, Number(arg('runs', limit >= 1000 ? '3' : '1'))));
      byLimit.set(limit, await runLimit(dir, recipients, limit, runs));
    }
    // the middle run (of an even number, the slower of the two in the middle)
    const median = (rs: RunResult[]) => [...rs].sort((a, b) => a.seconds - b.seconds)[Math.floor(rs.length / 2)]!;
    const mainLimit = byLimit.has(200) ? 200 : limits[0]!;
    const main = median(byLimit.get(mainLimit)!);
    const at2000 = mainLimit !== 2000 && byLimit.has(2000) ? median(byLimit.get(2000)!) : undefined;
    const all = [...byLimit.values()].flat();
    if (all.length > limits.length) {
      for (const [limit, rs] of byLimit)
        if (rs.length > 1)
          console.log(
            `limit ${limit}/s: median of ${rs.length} runs ${median(rs).seconds} s, ratio ${median(rs).ratio} (runs: ${rs.map((r) => r.ratio).join(', ')})`,
          );
    }
    return {
      bench: 'delivery',
      ratio: main.ratio,
      recipients,
      limit: main.limit,
      seconds: main.seconds,
      floor_seconds: main.floor_seconds,
      batches_per_s: main.batches_per_s,
      first_batch_s: main.first_batch_s,
      cpu_ms_per_batch: main.cpu_ms_per_batch,
      exactly_once: all.every((r) => r.exactly_once),
      load_average: main.load_average,
      steal_ms: main.steal_ms,
      runs: byLimit.get(mainLimit)!.map((r) => r.ratio),
      ...(at2000
        ? {
            ratio_2000: at2000.ratio,
            seconds_2000: at2000.seconds,
            floor_seconds_2000: at2000.floor_seconds,
            batches_per_s_2000: at2000.batches_per_s,
            load_average_2000: at2000.load_average,
            steal_ms_2000: at2000.steal_ms,
            runs_2000: byLimit.get(2000)!.map((r) => r.ratio),
          }
        : {}),
      goal: 'ratio <= 1.25 (at 200/s and at 2,000/s; the median of the runs at each)',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
