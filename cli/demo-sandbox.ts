import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { TenantStore } from '../core/tenants.ts';
import { startSandbox, type RunningSandbox, type SandboxConfig } from '../sandbox/index.ts';
import { TOKYO_OFFSET_MS, tokyoToday } from '../core/time.ts';
import { setUpLiffApp } from '../core/resident/index.ts';
import { demoBlockBursts } from './demo-deliveries.ts';
import { sandboxLoginIdentity } from './demo-seed.ts';

const DAY_MS = 86_400_000;

/**
 * When the simulated history starts: one year before the first run, kept in the data directory so
 * a second run replays the same history (same residents, same webhook event ids) instead of a new one.
 */
function historyStart(dataDir: string): string {
  const file = path.join(dataDir, 'sandbox.json');
  try {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { start?: string };
    if (saved.start && !Number.isNaN(Date.parse(saved.start))) return saved.start;
  } catch {
    /* first run */
  }
  // midnight in Asia/Tokyo, 365 days ago
  const jstMidnight = Math.floor((Date.now() + TOKYO_OFFSET_MS) / DAY_MS) * DAY_MS - TOKYO_OFFSET_MS;
  const start = new Date(jstMidnight - 365 * DAY_MS).toISOString();
  fs.writeFileSync(file, JSON.stringify({ start }, null, 2));
  return start;
}

/** The sandbox's channels: every tenant wired to it, with residents sized from its population. */
export async function sandboxConfigFor(
  tenants: TenantStore,
  config: Config,
  webhookBase?: string,
): Promise<SandboxConfig | undefined> {
  const list = (await tenants.list()).filter((t) => t.lineApi === 'sandbox' && t.hasCredentials);
  if (list.length === 0) return undefined;
  const start = historyStart(config.dataDir);
  const channels = [];
  for (const t of list) {
    const c = await tenants.credentials(t.id);
    channels.push({
      channelId: c.channelId,
      botUserId: c.botUserId,
      channelSecret: c.channelSecret,
      channelAccessToken: c.channelAccessToken,
      webhookUrl: webhookBase ? `${webhookBase}/webhook/${t.id}` : undefined,
      redelivery: true,
      displayName: `${t.name} 公式アカウント`,
      login: sandboxLoginIdentity(t.id, c.channelSecret),
      residents: {
        count: Math.max(50, Math.round((t.population ?? 10_000) * config.demo.residentRatio)),
        seed: Number(t.id),
        initialFriendRatio: 0.15,
        followRatePerDay: 0.002,
        blockRatePerDay: 0.0004,
        unblockRatePerDay: 0.002,
        openProbability: 0.6,
        clickProbability: 0.1,
        fatigueThresholdPerWeek: 3,
        fatigueBlockProbability: 0.01,
        // the blocks after the demo's history of deliveries (cli/demo-deliveries.ts)
        ...(t.kind === 'municipality'
          ? { blockBursts: demoBlockBursts(t.id, tokyoToday(Date.parse(start)), tokyoToday()) }
          : {}),
      },
    });
  }
  return {
    channels,
    rateLimits: { defaultPerSecond: 2000, multicastPerSecond: 200, perHourEndpoints: 60 },
    clock: { start, speed: config.demo.speed },
  };
}

/** Starts the sandbox for the tenants wired to it, and logs residents following and blocking live. */
export async function startDemoSandbox(
  tenants: TenantStore,
  config: Config,
  say: (line: string) => void,
  webhookBase?: string,
  /** Where residents open the tenants' pages (the suite's public URL): each tenant gets its LIFF app. */
  liffBase?: string,
): Promise<RunningSandbox | undefined> {
  const sandboxConfig = await sandboxConfigFor(tenants, config, webhookBase);
  if (!sandboxConfig) return undefined;
  const names = new Map((await tenants.list()).map((t) => [t.channelId, t.name]));
  const tally = new Map<string, { follow: number; unblock: number; unfollow: number }>();
  const sandbox = await startSandbox({
    config: sandboxConfig,
    port: config.sandbox.port,
    world: {
      onEvent(channelId, ev) {
        const t = tally.get(channelId) ?? { follow: 0, unblock: 0, unfollow: 0 };
        if (ev.type === 'follow')
          (ev.follow as { isUnblocked?: boolean } | undefined)?.isUnblocked ? t.unblock++ : t.follow++;
        else if (ev.type === 'unfollow') t.unfollow++;
        tally.set(channelId, t);
      },
    },
  });
  const timer = setInterval(() => {
    if (tally.size === 0) return;
    const simDay = tokyoToday(sandbox.world.now());
    const top = [...tally.entries()]
      .sort((a, b) => b[1].follow + b[1].unfollow - (a[1].follow + a[1].unfollow))
      .slice(0, 3);
    const sum = [...tally.values()].reduce((s, t) => ({ f: s.f + t.follow, u: s.u + t.unblock, b: s.b + t.unfollow }), {
      f: 0,
      u: 0,
      b: 0,
    });
    say(
      `サンドボックス (模擬日付 ${simDay}): 直近 10 秒で 友だち追加 ${sum.f} / ブロック ${sum.b} / ブロック解除 ${sum.u}` +
        ` — ${top.map(([id, t]) => `${names.get(id) ?? id} +${t.follow} -${t.unfollow}`).join('、')}`,
    );
    tally.clear();
  }, 10_000);
  timer.unref();
  if (liffBase) {
    // each tenant's LIFF app, made through the sandbox's LIFF server API as for LINE itself; a few
    // tenants at a time (their calls to the sandbox overlap)
    const queue = (await tenants.list()).filter((t) => t.lineApi === 'sandbox');
    const setUp = async (): Promise<void> => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const login = sandboxConfig.channels.find((c) => c.channelId === t!.channelId)?.login;
        if (!login) continue;
        await setUpLiffApp({
          tenants,
          tenantId: t.id,
          input: { loginChannelId: login.channelId, loginChannelSecret: login.channelSecret },
          endpoints: { line: config.lineApiBaseUrl, sandbox: sandbox.url },
          publicUrl: liffBase,
          reuse: true,
        });
      }
    };
    await Promise.all(Array.from({ length: 6 }, setUp));
  }
  const close = sandbox.close.bind(sandbox);
  return Object.assign(sandbox, {
    close: async () => {
      clearInterval(timer);
      await close();
    },
  });
}
