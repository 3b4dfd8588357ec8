/**
 * One test harness for the suites: a fresh data directory, the embedded ClickHouse (migrated), a
 * real redis-server, a TenantStore with a SecretBox, the sandbox with tenants wired to it, and one
 * `close()` that tears all of it down in reverse order, each step bounded so that it never hangs.
 *
 *   const h = await harness({
 *     redis: true,
 *     sandbox: { config: { channels: [{ channelId: '2000000001', …, residents: stillResidents(100, 1) }] } },
 *     tenants: [{ id: '24201', name: '津市', kind: 'municipality', channelId: '2000000001', credentials: 'sandbox' }],
 *   });
 *   h.defer('stop delivery', () => delivery.stop());  // the suite's own parts join the teardown
 *   const base = await h.serve(app);  // listens on loopback; closed in its place in the teardown
 *   afterAll(() => h.close());
 *
 * Options (every part but the directory is optional):
 * - `prefix`: of the temporary directory (`h.dir`), removed last.
 * - `env`: extra environment for `h.config` (testConfig of `h.dir`).
 * - `clickhouse`: the embedded engine in `<dir>/clickhouse` as `h.ch`, migrated. Default on;
 *   `{ migrate: false }` leaves it empty, `false` opens none (then there is no `h.tenants` either;
 *   the directory is still the run's migrated template, for the suite or CLI that opens it).
 * - `redis`: a redis-server in `<dir>/redis` as `h.redis` (`url`, `server`, and one ioredis
 *   `client` made with connectRedis, quit before the server stops). Default off.
 * - `secretBox`: the tenants' SecretBox; default `loadSecretBox(h.config, { create: true })` (a
 *   key file in the directory, as the suite keeps it). `h.tenants` is made when first read.
 * - `sandbox`: StartSandboxOptions; the sandbox is started before the tenants are added, as
 *   `h.sandbox`. A sandbox that must start later (its webhooks go to an app the suite starts
 *   first) is started with `h.startSandbox(options)`, which joins the teardown where it is called.
 * - `tenants`: added to `h.tenants` in order; `credentials` are stored as given, or with
 *   `'sandbox'` the secret and token of the sandbox channel with the tenant's `channelId`
 *   (lineApi 'sandbox').
 * - `stepTimeoutMs`: how long one teardown step may take before close() reports it and goes on
 *   (20 s; closing a suite started with `h.startSuite` gets 90 s).
 *
 * Methods besides `close()`: `h.defer(name, step)` adds the suite's own teardown step; `h.serve(app)`
 * listens on loopback and returns the base URL; `h.startSandbox(options)`; `h.startSuite(opts,
 * logger)` runs the whole suite in this process on `h.config` (with `clickhouse: false`, since the
 * suite opens its own engine and redis-server under `h.dir`; `env` sets its configuration).
 *
 * A part asked for nothing throws when read (`h.redis` without `redis: true`). Suites that kill or
 * restart a part themselves (crash tests) use the parts on their own: `startTestRedis`,
 * `freshClickHouse`, `tenantStore`, `addTenants`, `seedClickHouse` (write, then hand the engine's
 * directory over), and `Teardown` for an ordered, bounded cleanup. `stillResidents(count, seed)` is
 * a sandbox channel's residents who do nothing on their own; `sandboxHook` and `lineFailure`
 * (./sandbox-calls.ts) call the sandbox's test hooks and catch the LINE SDK's errors.
 */
import type { AddressInfo } from 'node:net';
import type { Suite } from '../../cli/suite.ts';
import { openClickHouse, type ClickHouseClient } from '../../core/clickhouse.ts';
import type { Config } from '../../core/config.ts';
import { loadSecretBox, type SecretBox } from '../../core/crypto.ts';
import type { FastifyInstance } from '../../core/http.ts';
import { createLogger, type Logger } from '../../core/logger.ts';
import { migrate } from '../../core/migrations.ts';
import { connectRedis, type Redis } from '../../core/redis.ts';
import type { LocalRedis } from '../../core/redis-server.ts';
import { TenantStore, type CredentialsInput, type TenantInput } from '../../core/tenants.ts';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../sandbox/index.ts';
import { copyClickHouseTemplate } from './clickhouse-template.ts';
import { freshClickHouse, startTestRedis, testConfig, tmpDir } from './index.ts';

/** The suite bounds each of its own shutdown steps (15 s); all of them together get this long. */
const SUITE_CLOSE_MS = 90_000;

export interface HarnessTenant extends TenantInput {
  /** Stored encrypted; 'sandbox': those of the sandbox channel with this tenant's channelId. */
  credentials?: CredentialsInput | 'sandbox';
}

export interface HarnessOptions {
  prefix?: string;
  env?: Record<string, string>;
  clickhouse?: boolean | { migrate?: boolean };
  redis?: boolean;
  secretBox?: SecretBox;
  sandbox?: StartSandboxOptions;
  tenants?: HarnessTenant[];
  /** How long one teardown step may take before close() gives up on it and goes on. */
  stepTimeoutMs?: number;
}

export interface HarnessRedis {
  url: string;
  server: LocalRedis;
  /** One connection (connectRedis defaults), quit by close() before the server stops. */
  client: Redis;
}

export interface Harness {
  dir: string;
  config: Config;
  ch: ClickHouseClient;
  tenants: TenantStore;
  redis: HarnessRedis;
  sandbox: RunningSandbox;
  /** Starts the sandbox now (when it was not asked for up front); it is closed where it stands in the teardown. */
  startSandbox(options: StartSandboxOptions): Promise<RunningSandbox>;
  /**
   * The whole suite in this process on `h.config` (its ClickHouse and redis-server under `h.dir`, so
   * the harness must be started with `clickhouse: false`); closed in its place in the teardown.
   */
  startSuite(opts?: { demo?: boolean; say?: (line: string) => void }, logger?: Logger): Promise<Suite>;
  /** Listens on a free loopback port and returns the base URL; the app is closed where this stands in the teardown. */
  serve(app: FastifyInstance): Promise<string>;
  /** Adds a teardown step: close() runs steps last-added first. */
  defer(name: string, step: () => unknown): void;
  /** Tears everything down in reverse order, each step bounded; throws afterwards if a step failed. */
  close(): Promise<void>;
}

/**
 * Teardown steps run last-added first, each given at most `stepTimeoutMs`; a step that fails or
 * runs out of time does not stop the ones after it. Running it twice runs nothing more.
 */
export class Teardown {
  readonly #steps: Array<{ name: string; step: () => unknown; timeoutMs: number }> = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly stepTimeoutMs = 20_000) {}

  /** `timeoutMs`: this step's own bound, for a step that is itself several bounded steps. */
  add(name: string, step: () => unknown, timeoutMs = this.stepTimeoutMs): void {
    this.#steps.push({ name, step, timeoutMs });
  }

  run(): Promise<void> {
    this.#closing ??= this.#runAll();
    return this.#closing;
  }

  async #runAll(): Promise<void> {
    const failures: string[] = [];
    for (const { name, step, timeoutMs } of this.#steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no end within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    if (failures.length) throw new Error(`teardown failed: ${failures.join('; ')}`);
  }
}

/** A TenantStore on `ch` with the SecretBox the suite would use for `config` (key file created). */
export function tenantStore(ch: ClickHouseClient, config: Config, box?: SecretBox): TenantStore {
  return new TenantStore(ch, box ?? loadSecretBox(config, { create: true }));
}

/** Adds tenants in order and stores their credentials ('sandbox': taken from `sandbox`'s channels). */
export async function addTenants(
  tenants: TenantStore,
  list: readonly HarnessTenant[],
  sandbox?: RunningSandbox,
): Promise<void> {
  for (const { credentials, ...input } of list) {
    await tenants.add(input);
    if (!credentials) continue;
    if (credentials !== 'sandbox') {
      await tenants.setCredentials(input.id, credentials);
      continue;
    }
    const channel = sandbox?.config.channels.find((c) => c.channelId === input.channelId);
    if (!channel) throw new Error(`tenant ${input.id}: no sandbox channel ${input.channelId ?? '(none given)'}`);
    await tenants.setCredentials(input.id, {
      channelSecret: channel.channelSecret,
      channelAccessToken: channel.channelAccessToken,
      lineApi: 'sandbox',
    });
  }
}

/**
 * Opens `config`'s ClickHouse, migrates it, runs `seed` with it and a TenantStore, and closes it
 * again: for a suite or a process that opens the engine's directory itself afterwards.
 */
export async function seedClickHouse(
  config: Config,
  seed: (ch: ClickHouseClient, tenants: TenantStore) => Promise<void>,
): Promise<void> {
  const ch = await openClickHouse(config.clickhouse);
  try {
    await migrate(ch);
    await seed(ch, tenantStore(ch, config));
  } finally {
    await ch.close();
  }
}

/** Residents who do nothing on their own: only what a test makes them do happens. */
export function stillResidents(
  count: number,
  seed: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> & { count: number; seed: number } {
  return {
    count,
    seed,
    initialFriendRatio: 1,
    followRatePerDay: 0,
    blockRatePerDay: 0,
    unblockRatePerDay: 0,
    fatigueBlockProbability: 0,
    ...extra,
  };
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const tmp = tmpDir(options.prefix);
  const teardown = new Teardown(options.stepTimeoutMs);
  teardown.add('remove the directory', () => tmp.remove());
  const config = testConfig(tmp.dir, options.env);
  const parts: {
    ch?: ClickHouseClient;
    tenants?: TenantStore;
    redis?: HarnessRedis;
    sandbox?: RunningSandbox;
  } = {};
  const need = <K extends keyof typeof parts>(key: K, option: string): NonNullable<(typeof parts)[K]> => {
    const part = parts[key];
    if (!part) throw new Error(`the harness was started without ${option}`);
    return part;
  };
  // made when first used: a suite that never reads it gets no key file
  const tenants = () => (parts.tenants ??= tenantStore(need('ch', 'clickhouse'), config, options.secretBox));
  const startSandboxNow = async (o: StartSandboxOptions) => {
    if (parts.sandbox) throw new Error('the harness has a sandbox already');
    const sandbox = await startSandbox(o);
    teardown.add('close the sandbox', () => sandbox.close());
    parts.sandbox = sandbox;
    return sandbox;
  };

  try {
    if (options.clickhouse !== false) {
      const wantMigrate = typeof options.clickhouse !== 'object' || options.clickhouse.migrate !== false;
      const ch = await freshClickHouse(tmp.dir, { template: wantMigrate });
      teardown.add('close ClickHouse', () => ch.close());
      if (wantMigrate) await migrate(ch);
      parts.ch = ch;
    } else if (config.clickhouse.kind === 'embedded') {
      // the suite or CLI that opens this directory finds it migrated already
      copyClickHouseTemplate(config.clickhouse.path);
    }
    if (options.redis) {
      const server = await startTestRedis(tmp.dir);
      teardown.add('stop redis-server', () => server.stop());
      const client = connectRedis(server.url);
      teardown.add('quit the Redis client', () => client.quit());
      parts.redis = { url: server.url, server, client };
    }
    if (options.sandbox) await startSandboxNow(options.sandbox);
    if (options.tenants?.length) await addTenants(tenants(), options.tenants, parts.sandbox);
  } catch (e) {
    await teardown.run().catch(() => undefined);
    throw e;
  }

  return {
    dir: tmp.dir,
    config,
    get ch() {
      return need('ch', 'clickhouse');
    },
    get tenants() {
      return tenants();
    },
    get redis() {
      return need('redis', 'redis: true');
    },
    get sandbox() {
      return need('sandbox', 'a sandbox');
    },
    startSandbox: startSandboxNow,
    async startSuite(opts = {}, logger = createLogger('silent')) {
      if (parts.ch) throw new Error('the suite opens its own ClickHouse: start the harness with clickhouse: false');
      // loaded when asked for: most suites that use the harness do not need all of Tayori
      const { startSuite } = await import('../../cli/suite.ts');
      const suite = await startSuite(config, logger, opts);
      teardown.add('close the suite', () => suite.close(), SUITE_CLOSE_MS);
      return suite;
    },
    async serve(app) {
      teardown.add('close the app', () => app.close());
      await app.listen({ port: 0, host: '127.0.0.1' });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    defer: (name, step) => teardown.add(name, step),
    close: () => teardown.run(),
  };
}
