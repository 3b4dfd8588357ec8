import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { AppError } from '../../core/errors.ts';
import type { LineEndpoints } from '../../core/line.ts';
import type { Redis } from '../../core/redis.ts';
import type { Tenant, TenantStore } from '../../core/tenants.ts';
import { InsightBudget, type BudgetOptions } from './budget.ts';
import { daysInRange, jaDay, jaTime } from './dates.ts';
import { InsightCallError, InsightFetcher } from './fetcher.ts';
import { parseBackfillInput } from './input.ts';
import { InsightStore, type FollowersDay } from './store.ts';

export interface DirectBackfillDeps {
  ch: ClickHouseClient;
  /** Holds the channels' call budget, shared with the suite when it runs again. */
  redis: Redis;
  tenants: TenantStore;
  endpoints: LineEndpoints;
  /** Progress lines for people (Japanese). */
  say: (line: string) => void;
  prefix?: string;
  budget?: BudgetOptions;
  rateLimitedPauseMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface DirectBackfillResult {
  stored: number;
  unready: number;
  failed: number;
}

const fmt = (n: number | null) => (n === null ? '—' : n.toLocaleString('ja-JP'));

export function describeFollowersDay(r: FollowersDay): string {
  if (r.status === 'out_of_service') return 'LINE の集計対象期間外 (out_of_service) として記録';
  return `友だち ${fmt(r.followers)} / ターゲットリーチ ${fmt(r.targetedReaches)} / ブロック ${fmt(r.blocks)}`;
}

/**
 * Backfill without the suite: the days are fetched one after another in this process, within
 * the same per-channel budget (kept in Redis); when it is spent, this waits and says until when.
 * A day LINE has not finished counting is reported and left out (run again later).
 */
export async function backfillDirect(
  deps: DirectBackfillDeps,
  input: { tenant: string; from: string; to: string },
): Promise<DirectBackfillResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const b = parseBackfillInput(input, now());
  const store = new InsightStore(deps.ch);
  const budget = new InsightBudget(deps.redis, { prefix: deps.prefix ?? 'tayori', ...deps.budget });
  const fetcher = new InsightFetcher({
    tenants: deps.tenants,
    store,
    budget,
    endpoints: () => deps.endpoints,
    now,
    rateLimitedPauseMs: deps.rateLimitedPauseMs ?? 15 * 60_000,
  });

  let list: Tenant[];
  if (b.tenant === 'all') {
    list = [];
    for (const t of await deps.tenants.list()) {
      if (!t.hasCredentials) deps.say(`${t.id} ${t.name}: チャネル情報が未設定のため対象外です`);
      else if (t.lineApi === 'sandbox' && !deps.endpoints.sandbox)
        deps.say(`${t.id} ${t.name}: サンドボックス接続のテナントは、スイート稼働中にだけ取得できます (対象外)`);
      else list.push(t);
    }
  } else {
    const t = await deps.tenants.require(b.tenant);
    if (!t.hasCredentials) {
      throw new AppError(
        'tenant_no_credentials',
        `テナント ${t.id} ${t.name} のチャネル情報 (シークレット・アクセストークン) が未設定です`,
        409,
      );
    }
    if (t.lineApi === 'sandbox' && !deps.endpoints.sandbox) {
      throw new AppError(
        'sandbox_not_running',
        `テナント ${t.id} ${t.name} はサンドボックスに接続する設定です。サンドボックスはスイートと一緒に起動するため、スイートの稼働中 (npx tayori serve または npm run demo) に実行してください`,
        409,
      );
    }
    list = [t];
  }
  const days = daysInRange(b.from, b.to);
  const total = list.length * days.length;
  deps.say(
    `${list.length} テナント × ${days.length} 日 (計 ${total} 件) の友だち数を取得します (${jaDay(b.from)}〜${jaDay(b.to)})`,
  );

  const result: DirectBackfillResult = { stored: 0, unready: 0, failed: 0 };
  let n = 0;
  for (const t of list) {
    let skipRest = false;
    for (const day of days) {
      n++;
      const head = `[${n}/${total}] ${t.id} ${t.name} ${jaDay(day)}`;
      if (skipRest) {
        result.failed++;
        continue;
      }
      for (;;) {
        try {
          const o = await fetcher.followersDay(t.id, day);
          if (o.kind === 'wait') {
            deps.say(
              o.reason === 'budget'
                ? `${head}: チャネルの取得上限 (${budget.limit} 回/時) に達したため ${jaTime(o.until)} まで待機します…`
                : `${head}: LINE から回数制限 (429) の応答があったため ${jaTime(o.until)} まで待機します…`,
            );
            await sleep(Math.max(0, o.until - Date.now()));
            continue;
          }
          if (o.kind === 'unready') {
            result.unready++;
            deps.say(`${head}: LINE でまだ集計中です (後でもう一度実行してください)`);
          } else {
            result.stored++;
            deps.say(`${head}: ${describeFollowersDay(o.value)}`);
          }
        } catch (e) {
          if (!(e instanceof InsightCallError)) throw e;
          result.failed++;
          deps.say(`${head}: 取得できませんでした — ${e.message}`);
          if (e.permanent) {
            skipRest = true;
            deps.say(`${t.id} ${t.name}: 以降の日付は取得しません`);
          }
        }
        break;
      }
    }
  }
  deps.say(`完了: 保存 ${result.stored} 件、集計中 ${result.unready} 件、失敗 ${result.failed} 件`);
  return result;
}
