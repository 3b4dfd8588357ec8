/**
 * The parts the cards run in, composed as cli/suite.ts composes them (the staff shell, the residents'
 * LIFF frame, the cards with their resident API and pages, staff routes and pages, and on request
 * delivery — the cards' pushes go out through its service) on the shared harness: embedded ClickHouse, a real
 * redis-server, the demo's municipalities wired to the sandbox (each with a LIFF app), and an
 * operator token. No ingest: `follow` records residents as friends, as ingest's follow events would.
 */
import type { AddressInfo } from 'node:net';
import { Resvg } from '@resvg/resvg-js';
import { startDemoSandbox } from '../../cli/demo-sandbox.ts';
import { seedDemoTenants } from '../../cli/demo-seed.ts';
import {
  type Cards,
  cardsStoreDir,
  createCards,
  registerCardsPages,
  registerCardsResidentPages,
} from '../../cards/index.ts';
import { AuditLog } from '../../core/audit.ts';
import { loadSecretBox } from '../../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../../core/data-keys.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import type { LineEndpoints } from '../../core/line.ts';
import { createLogger } from '../../core/logger.ts';
import { createResidentFrame, type ResidentFrame } from '../../core/resident/index.ts';
import { createDashboard, type Dashboard } from '../../dashboard/index.ts';
import { createDelivery, type Delivery } from '../../delivery/index.ts';
import { forgetTenantKeyInBackups } from '../../ops/index.ts';
import type { RunningSandbox } from '../../sandbox/index.ts';
import { type Harness, harness } from '../helpers/harness.ts';

export interface CardsSuite {
  h: Harness;
  url: string;
  token: string;
  app: FastifyInstance;
  cards: Cards;
  /** With { delivery: true } only. */
  delivery: Delivery | undefined;
  dashboard: Dashboard;
  residents: ResidentFrame;
  sandbox: RunningSandbox;
  /** Every route of the app (fastify's table, as registered). */
  routes: Array<{ method: string; url: string }>;
  /** Records residents as friends of the tenant (delivery's follow state, as ingest records a follow). */
  follow(tenantId: string, userIds: string[]): Promise<void>;
  /** Moves the cards' clock (eligibility is judged by it). */
  setNow(ms: number | undefined): void;
  op<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/** `delivery`: run delivery too (the push goes through it); off, a push answers 503 — for suites that stop Redis. */
export async function startCardsSuite(prefix: string, opts: { delivery?: boolean } = {}): Promise<CardsSuite> {
  const h = await harness({
    prefix,
    redis: true,
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' },
  });
  try {
    const logger = createLogger(process.env.TEST_LOG ?? 'silent');
    const token = `op-${Math.random().toString(36).slice(2)}`;
    await seedDemoTenants(h.tenants);
    let url = '';
    let sandbox: RunningSandbox | undefined;
    const endpoints = (): LineEndpoints => ({ line: h.config.lineApiBaseUrl, sandbox: sandbox?.url });
    const app = createHttpApp(logger, {});
    h.defer('http', () => app.close());
    const routes: Array<{ method: string; url: string }> = [];
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
    });
    const dashboard = createDashboard({
      ch: h.ch,
      redis: h.redis.client,
      tenants: h.tenants,
      operatorTokens: [token],
      logger,
    });
    const shell = dashboard.register(app);
    const residents = createResidentFrame({
      app,
      tenants: h.tenants,
      endpoints,
      publicUrl: () => url,
      assets: (files) => shell.assets(files),
    });
    const delivery = opts.delivery
      ? createDelivery({ ch: h.ch, redisUrl: h.redis.url, tenants: h.tenants, endpoints, logger })
      : undefined;
    if (delivery) {
      h.defer('delivery', () => delivery.stop());
      delivery.registerRoutes(app, dashboard.auth);
    }
    let fixed: number | undefined;
    const box = loadSecretBox(h.config, { create: true });
    const keys = new DataKeys({ dir: dataKeysDir(h.config.dataDir), provider: new SuiteKeyProvider(box) });
    const cards = createCards({
      dir: cardsStoreDir(h.config.dataDir),
      keys,
      audit: new AuditLog(h.ch, logger),
      tenants: h.tenants,
      deliveries: delivery?.service,
      // as cli/suite.ts wires it: the erasure reaches the backups in TAYORI_BACKUP_DIR
      forgetKeyInBackups: async (tenantId, erasedAt) =>
        forgetTenantKeyInBackups(h.config.ops.backupDir, tenantId, erasedAt),
      now: () => fixed ?? Date.now(),
    });
    h.defer('cards', () => cards.close());
    cards.registerResidentApi(residents);
    cards.registerRoutes(app, dashboard.auth);
    registerCardsResidentPages(residents);
    registerCardsPages(shell, cards);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://localhost:${(app.server.address() as AddressInfo).port}`;
    sandbox = await startDemoSandbox(h.tenants, h.config, () => {}, url.replace('localhost', '127.0.0.1'), url);
    if (!sandbox) throw new Error('the sandbox did not start');
    const running = sandbox;
    h.defer('sandbox', () => running.close());
    // its workers reach the sandbox once it is up
    await delivery?.start();
    const op = async <T = any>(method: string, path: string, body?: unknown) => {
      const res = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
    };
    return {
      h,
      url,
      token,
      app,
      cards,
      delivery,
      dashboard,
      residents,
      sandbox: running,
      routes,
      follow: async (tenantId, userIds) => {
        if (!delivery)
          throw new Error('the cards suite runs without delivery (startCardsSuite(…, { delivery: true }))');
        for (const u of userIds) await delivery.residents.recordFollow(tenantId, u, true, Date.now());
      },
      setNow: (ms) => {
        fixed = ms;
      },
      op,
      close: () => h.close(),
    };
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** A PNG of the given colour and size (an SVG rendered by resvg). */
export function testPng(width: number, height: number, colour: string): Buffer {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${colour}"/></svg>`;
  return Buffer.from(new Resvg(svg).render().asPng());
}
