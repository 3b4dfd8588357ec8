import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { AuditLog } from '../core/audit.ts';
import { openClickHouse, type ClickHouseClient } from '../core/clickhouse.ts';
import { trustProxyOption, type Config } from '../core/config.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../core/data-keys.ts';
import { registerHealth } from '../core/health.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../core/http.ts';
import type { LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import { migrate } from '../core/migrations.ts';
import { connectRedis, type Redis } from '../core/redis.ts';
import { startLocalRedis, type LocalRedis } from '../core/redis-server.ts';
import { TenantStore } from '../core/tenants.ts';
import {
  createResidentFrame,
  registerLiffSettingsPages,
  setUpLiffApp,
  type LiffSetupInput,
  type ResidentFrame,
} from '../core/resident/index.ts';
import {
  type Cards,
  cardsStoreDir,
  createCards,
  registerCardsPages,
  registerCardsResidentPages,
} from '../cards/index.ts';
import { createDashboard } from '../dashboard/index.ts';
import { createDelivery, type Delivery, registerDeliveryPages } from '../delivery/index.ts';
import { adoptOlderEventLog, createIngest, eventLogDir, refusingWrites, type Ingest } from '../ingest/index.ts';
import {
  createMileage,
  type Mileage,
  registerMileagePages,
  registerMileagePrintableRoutes,
  registerMileageResidentPages,
} from '../mileage/index.ts';
import { createSurveys, registerSurveyPages, registerSurveysResidentPages, type Surveys } from '../surveys/index.ts';
import { createFaq, type Faq, registerFaqPages } from '../faq/index.ts';
import { createInsightPollers, registerInsightRoutes, type InsightPollers } from '../ingest/insight/index.ts';
import type { Reports } from '../reports/index.ts';
import type { Ops } from '../ops/index.ts';
import type { RunningSandbox } from '../sandbox/index.ts';
import { startDemoSandbox } from './demo-sandbox.ts';
import { seedDemoTenants } from './demo-seed.ts';
import { liveSuiteFile, removeSuiteState, writeSuiteState } from './suite-state.ts';

export interface Suite {
  url: string;
  token: string;
  app: FastifyInstance;
  ch: ClickHouseClient;
  redis: Redis;
  tenants: TenantStore;
  ingest: Ingest;
  insight: InsightPollers;
  delivery: Delivery;
  /** Report files and the jobs that make them. */
  reports: Reports;
  /** The residents' pages inside LINE (LIFF): the frame capabilities register resident pages and APIs in. */
  residents: ResidentFrame;
  /** Health mileage: programmes, the points ledger, awards, the benefit card. */
  mileage: Mileage;
  /** Surveys residents answer inside LINE, their results and exports. */
  surveys: Surveys;
  /** The FAQ chatbot: scenarios, the chat, statistics and the flow view. */
  faq: Faq;
  /** Benefit cards with personal data (パパ・ママ応援ショップ優待カード, まいたまパス). */
  cards: Cards;
  /** Backups, the self-check, availability and the operations records. */
  ops: Ops;
  /** The local LINE Platform stand-in, when tenants are wired to it. */
  sandbox?: RunningSandbox;
  close(): Promise<void>;
}

/**
 * Starts the whole suite in this process: ClickHouse (embedded or server) and migrations first,
 * so a bad CLICKHOUSE_URL fails fast; then Redis, the HTTP app and, for the demo, seed data.
 * Whatever was started is stopped again if a later step fails.
 */
export async function startSuite(
  config: Config,
  logger: Logger,
  opts: { demo?: boolean; say?: (line: string) => void } = {},
): Promise<Suite> {
  const other = liveSuiteFile(config.dataDir);
  if (other) {
    const where = 'url' in other ? other.url : other.state === 'starting' ? '起動中' : '停止中';
    throw Object.assign(
      new Error(
        `このデータディレクトリ (${config.dataDir}) では既に Tayori が稼働しています: ${where} (pid ${other.pid})`,
      ),
      { code: 'suite_running' },
    );
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  // The directory is claimed before ClickHouse opens it, so a CLI command run meanwhile waits for
  // this suite's API instead of meeting the engine's lock; `ready` only once start-up is complete.
  const startedAt = new Date().toISOString();
  writeSuiteState(config.dataDir, { pid: process.pid, state: 'starting', startedAt });
  let started = false;
  // Shutdown steps, run in reverse order of start; each named in the debug log, each bounded so a
  // stuck part cannot keep the process (and its redis-server) alive.
  const steps: Array<[string, () => Promise<unknown>]> = [];
  const cleanups = {
    push: (name: string, fn: () => Promise<unknown>) => steps.push([name, fn]),
    first: (name: string, fn: () => Promise<unknown>) => steps.unshift([name, fn]),
  };
  const close = async () => {
    started = false;
    if (steps.length) writeSuiteState(config.dataDir, { pid: process.pid, state: 'stopping', startedAt });
    for (const [name, fn] of steps.splice(0).reverse()) {
      logger.debug({ step: name }, 'stopping');
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15_000)));
      const outcome = await Promise.race([
        fn().then(
          () => 'ok',
          (e: unknown) => e,
        ),
        limit,
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout') logger.warn({ step: name }, 'shutdown step did not finish in 15 s; going on');
      else if (outcome !== 'ok') logger.warn({ step: name, err: outcome }, 'shutdown step failed');
    }
  };
  cleanups.first('suite state', async () => removeSuiteState(config.dataDir));
  try {
    const box = loadSecretBox(config, { create: opts.demo });
    const ch = refusingWrites(await openClickHouse(config.clickhouse));
    cleanups.push('clickhouse', () => ch.close());
    const migrated = await migrate(ch);
    if (migrated.applied.length) logger.info({ applied: migrated.applied }, 'migrations applied');

    let local: LocalRedis | undefined;
    if (config.redis.kind === 'local') {
      local = await startLocalRedis({ dir: config.redis.dir, port: config.redis.port, bin: config.redis.bin });
      cleanups.push('redis-server', () => local!.stop());
    }
    const redisUrl = local ? local.url : (config.redis as { url: string }).url;
    const redis = connectRedis(redisUrl);
    cleanups.push('redis connection', () => redis.quit());
    redis.on('error', (e) => logger.warn({ err: e.message }, 'redis connection error'));

    const tenants = new TenantStore(ch, box);
    if (opts.demo) {
      const added = await seedDemoTenants(tenants);
      if (added) logger.info({ added }, 'demo tenants seeded');
    }

    let sandbox: RunningSandbox | undefined;
    // the demo's first package, made at start before the sandbox's history is in
    let firstPackageMade = false;
    const endpoints = (): LineEndpoints => ({ line: config.lineApiBaseUrl, sandbox: sandbox?.url });
    if (await adoptOlderEventLog(eventLogDir(config.dataDir)))
      logger.info('the event log kept by LMDB was taken over by segment files');
    const ingest = createIngest({
      ch,
      redis,
      tenants,
      endpoints,
      logger,
      eventLog: { dir: eventLogDir(config.dataDir) },
    });
    const insight = createInsightPollers({ ch, redisUrl, tenants, logger, endpoints });
    cleanups.push('insight pollers', () => insight.stop());
    let suiteUrl: string | undefined;
    const delivery = createDelivery({
      ch,
      redisUrl,
      tenants,
      endpoints,
      logger,
      ingestHandlers: ingest.handlers,
      publicUrl: () => config.publicUrl ?? suiteUrl,
      fanOut: { trackDelivery: (i) => insight.trackDelivery(i) },
      clicks: ingest.clicks,
      mail: {
        domain: config.mailInbound.domain,
        limits: {
          perSenderPerHour: config.mailInbound.perSenderPerHour,
          perTenantPerHour: config.mailInbound.perTenantPerHour,
        },
        listen: config.mailInbound.enabled
          ? { host: config.mailInbound.host, port: config.mailInbound.port }
          : undefined,
      },
    });
    await delivery.start();
    cleanups.push('delivery', () => delivery.stop());
    // its postbacks (mileage:) join ingest's handlers before ingest starts; the residents' frame comes later
    let residentFrame: ResidentFrame | undefined;
    const mileage = createMileage({
      ch,
      redis,
      ingest,
      tenants,
      endpoints,
      logger,
      box,
      ingestHandlers: ingest.handlers,
      residents: () => residentFrame,
      publicUrl: () => config.publicUrl ?? suiteUrl,
    });
    await mileage.start();
    cleanups.push('mileage', () => mileage.stop());
    // its postbacks (surveys:) join ingest's handlers before ingest starts too
    const surveys = createSurveys({
      ch,
      redis,
      tenants,
      endpoints,
      logger,
      box,
      ingestHandlers: ingest.handlers,
      residents: () => residentFrame,
      delivery,
    });
    // its postbacks (faq:) and typed questions join ingest's handlers before ingest starts too
    const faq = createFaq({
      ch,
      redis,
      tenants,
      endpoints,
      logger,
      ingestHandlers: ingest.handlers,
      aiAllow: config.faqAiAllow,
    });
    const dataKeys = new DataKeys({ dir: dataKeysDir(config.dataDir), provider: new SuiteKeyProvider(box) });
    const cards = createCards({
      dir: cardsStoreDir(config.dataDir),
      keys: dataKeys,
      audit: new AuditLog(ch, logger),
      tenants,
      deliveries: delivery.service,
      forgetKeyInBackups: async (tenantId, erasedAt) =>
        (await import('../ops/index.ts')).forgetTenantKeyInBackups(config.ops.backupDir, tenantId, erasedAt),
    });
    cleanups.push('cards', () => cards.close());
    // once every handler is registered (they run from the event log); stopped before delivery
    await ingest.start();
    cleanups.push('ingest', () => ingest.stop());
    const { createReports, registerReportPages, registerReportRoutes, registerRolloutPage, registerRolloutRoutes } =
      await import('../reports/index.ts');
    // ops/: self-check, backups, records; its workbook joins reports' monthly package
    const { wireOps } = await import('./ops-wiring.ts');
    let reportsRef: Reports | undefined;
    const { ops, mailer } = wireOps({
      config,
      ch,
      redis,
      redisUrl,
      ingest,
      logger,
      insight,
      households: cards.store.households,
      keys: cards.keys,
      queues: () => (reportsRef ? [reportsRef.jobs.queue] : []),
      failedJobs: async () =>
        (await reportsRef?.jobs.queue.getJobs(['failed'], 0, 100))?.filter(
          (j) => (j.finishedOn ?? 0) > Date.now() - 3_600_000,
        ).length ?? 0,
      failedDeliveries: () => delivery.store.failedSince(Date.now() - 3_600_000),
    });
    const reports = createReports({
      ch,
      tenants,
      redisUrl,
      reportsDir: config.reportsDir,
      logger,
      contributors: [ops.monthlyContributor],
    });
    reportsRef = reports;
    await reports.start();
    cleanups.push('reports jobs', () => reports.stop());
    await ops.start();
    cleanups.push('ops', async () => {
      await ops.stop();
      mailer.close();
    });

    const token = randomBytes(24).toString('base64url');
    const front = new FrontHandlers();
    ingest.mount(front);
    const app = createHttpApp(logger, {
      front,
      trustProxy: trustProxyOption(config.trustProxy),
      publicUrl: config.publicUrl,
    });
    registerHealth(app, {
      ch,
      redis,
      started: () => started,
      eventLog: () => ingest.status(),
      showErrors: async (req) => (await dashboard.auth.identify(req)) !== undefined,
    });
    const dashboard = createDashboard({
      ch,
      redis,
      tenants,
      operatorTokens: [token],
      logger,
      publicUrl: config.publicUrl,
      createLiffApp: (tenantId, input) =>
        setUpLiffApp({
          tenants,
          tenantId,
          input: input as LiffSetupInput,
          endpoints: endpoints(),
          publicUrl: config.publicUrl ?? suiteUrl ?? '',
        }),
    });
    const shell = dashboard.register(app);
    const residents = createResidentFrame({
      app,
      tenants,
      endpoints,
      publicUrl: () => config.publicUrl ?? suiteUrl,
      assets: (files) => shell.assets(files),
    });
    registerInsightRoutes(app, { pollers: insight, tenants });
    delivery.registerRoutes(app, dashboard.auth);
    delivery.registerResidentPages(residents);
    residentFrame = residents;
    mileage.registerRoutes(app, dashboard.auth);
    mileage.registerResidentApi(residents);
    registerMileageResidentPages(residents);
    surveys.registerRoutes(app, dashboard.auth);
    surveys.registerResidentApi(residents);
    registerSurveysResidentPages(residents);
    faq.registerRoutes(app, dashboard.auth);
    faq.registerResidentPages(residents);
    cards.registerResidentApi(residents);
    cards.registerRoutes(app, dashboard.auth);
    registerCardsResidentPages(residents);
    registerMileagePrintableRoutes(app, dashboard.auth, { ...mileage, tenants, endpoints });
    registerReportRoutes(app, { ch, reports });
    ops.registerRoutes(app, dashboard.auth, [config.ops.metricsToken ?? token]);
    // each capability's pages, in the dashboard's frame
    registerDeliveryPages(shell);
    registerMileagePages(shell, mileage);
    registerCardsPages(shell, cards);
    registerSurveyPages(shell, surveys);
    registerFaqPages(shell, faq);
    registerLiffSettingsPages(shell, residents);
    registerReportPages(shell);
    const { registerOpsPages } = await import('../ops/index.ts');
    registerOpsPages(shell, ops);
    registerRolloutPage(shell, registerRolloutRoutes(app, { ch, tenants, auth: dashboard.auth }));
    if (opts.demo) await dashboard.seedDemoAccounts(config.dataDir, opts.say ?? (() => {}));
    if (opts.demo) {
      // 津市's mail address, allowed sender and one rule (deliveries started by e-mail)
      const { seedDemoMail } = await import('./demo-mail.ts');
      await seedDemoMail(delivery, { listening: delivery.mail.port > 0, say: opts.say });
    }
    if (opts.demo && config.reportsCatchUp) {
      // last month's minutes and issue log, so the first package has records to show
      const { seedDemoRecords } = await import('./demo-records.ts');
      const { ReportStore } = await import('../reports/index.ts');
      const seeded = await seedDemoRecords(new ReportStore(ch));
      if (seeded.minutes) logger.info(seeded, 'demo minutes and issues seeded');
    }
    await app.listen({ port: config.port, host: config.host });
    cleanups.push('http', () => app.close());
    const { port } = app.server.address() as AddressInfo;
    const url = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${port}`;
    suiteUrl = url;

    if (config.sandbox.enabled) {
      const self = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      sandbox = await startDemoSandbox(
        tenants,
        config,
        opts.say ?? (() => {}),
        `http://${self.includes(':') ? `[${self}]` : self}:${port}`,
        config.publicUrl ?? url,
      );
      if (sandbox) cleanups.push('sandbox', () => sandbox!.close());
      if (sandbox && opts.demo && config.demo.registrations) {
        // residents' own registrations (areas, attributes, interests), so segments count something;
        // in the background: the URL is printed at once, while the sandbox's history is pouring in
        const running = sandbox;
        void import('./demo-residents.ts')
          .then(({ seedDemoResidentAttributes }) => seedDemoResidentAttributes(ch, tenants, delivery, running))
          .then((seeded) => seeded.residents && logger.info(seeded, "demo residents' registrations seeded"))
          .catch((err: unknown) => logger.warn({ err }, "demo residents' registrations not seeded"))
          // then the year's health-mileage history (programmes, points, cards), after them: one engine
          .then(async () => {
            const { seedDemoMileage } = await import('./demo-mileage.ts');
            const t0 = performance.now();
            const seeded = await seedDemoMileage(ch, tenants, running.world);
            // the history went into the ledger directly: the award guards are rebuilt from it
            for (const t of await tenants.list()) await mileage.invalidate(t.id);
            if (seeded.tenants)
              logger.info({ ...seeded, ms: Math.round(performance.now() - t0) }, 'demo mileage history seeded');
          })
          .catch((err: unknown) => logger.warn({ err }, 'demo mileage history not seeded'))
          // and a sample survey with a few hundred answers per municipality (after the registrations it copies)
          .then(async () => {
            const { seedDemoSurveys } = await import('./demo-surveys.ts');
            const seeded = await seedDemoSurveys(ch, tenants, running.world, surveys.store);
            if (seeded.tenants) logger.info(seeded, 'demo surveys seeded');
          })
          .catch((err: unknown) => logger.warn({ err }, 'demo surveys not seeded'))
          // and the sample FAQ (100 questions) with 60 days of statistics
          .then(async () => {
            const { seedDemoFaq } = await import('./demo-faq.ts');
            const seeded = await seedDemoFaq(ch, tenants, faq.store);
            if (seeded.tenants) logger.info(seeded, 'demo FAQ seeded');
          })
          .catch((err: unknown) => logger.warn({ err }, 'demo FAQ not seeded'))
          // once the sandbox's year is in: the year's deliveries, then last month's package made again with them
          .then(async () => {
            const { seedDemoHistory } = await import('./demo-deliveries.ts');
            const r = await seedDemoHistory({
              ch,
              tenants,
              world: running.world,
              historyStart: running.world.clock.startedAt,
              backfill: (id, from, to) => insight.backfill(id, from, to),
              makePackage: async (month) => {
                if (!config.reportsCatchUp) return;
                // after the package made at start, if it is still being made
                while ((await reports.jobs.enqueue({ type: 'monthly', month }, 'デモ')).existing)
                  await new Promise((res) => setTimeout(res, 3000));
              },
              packageStale: () => firstPackageMade,
              say: opts.say,
            });
            if (r.deliveries) logger.info(r, 'demo deliveries history seeded');
          })
          .catch((err: unknown) => logger.warn({ err }, 'demo deliveries history not seeded'));
      }
    }

    await insight.start();
    if (config.reportsCatchUp) {
      // last month's package when the 1st-of-month run was missed (the suite was down) — and the demo's first
      const r = await reports.ensureLastMonthPackage(opts.demo ? 'デモ' : '起動時の補完');
      firstPackageMade = r.jobId !== undefined;
      if (r.jobId) {
        logger.info({ period: r.period }, "making last month's report package (none was stored)");
        opts.say?.(`${r.label}の月次報告 (議事録・課題管理表・KPI 報告書) を作成しています — 帳票ページに表示されます`);
      }
    }

    writeSuiteState(config.dataDir, { pid: process.pid, state: 'ready', url, token, startedAt });
    started = true;
    return {
      url,
      token,
      app,
      ch,
      redis,
      tenants,
      ingest,
      insight,
      delivery,
      reports,
      residents,
      mileage,
      surveys,
      faq,
      cards,
      ops,
      sandbox,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
