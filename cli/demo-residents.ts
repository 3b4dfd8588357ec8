/**
 * The demo's residents' own registrations: areas for each account, and for about a third of each
 * account's friends the answers they would have given in the registration flow inside LINE (gender
 * and age as LINE's demographics for them say, a lifestyle that fits the age, where they live, the
 * areas they want news about, and interests in the tree down to their area). Without them the
 * segment builder and 登録属性別の友だち of a fresh demo show nothing but zeros. Deterministic for
 * the sandbox's seeds; an account that already has answers is left as it is (a restarted demo).
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion, tokyoToday } from '../core/time.ts';
import type { Delivery } from '../delivery/index.ts';
import type { RunningSandbox } from '../sandbox/index.ts';

/** 津市's districts (the towns and villages it merged with in 2006); other accounts get compass districts. */
const AREAS: Record<string, readonly string[]> = {
  '24201': ['津', '久居', '河芸', '芸濃', '美里', '安濃', '香良洲', '一志', '白山', '美杉'],
};
const DEFAULT_AREAS = ['中央地区', '北部地区', '南部地区', '東部地区', '西部地区'];
const REGISTERED_SHARE = 0.35;

/** A resident's own stream of numbers in [0, 1), the same on every start. */
function draws(key: string): () => number {
  let block = createHash('sha256').update(key).digest();
  let at = 0;
  return () => {
    if (at + 4 > block.length) {
      block = createHash('sha256').update(block).digest();
      at = 0;
    }
    const v = block.readUInt32BE(at) / 2 ** 32;
    at += 4;
    return v;
  };
}

const pick = <T>(xs: readonly T[], r: number): T => xs[Math.min(xs.length - 1, Math.floor(r * xs.length))]!;

function lifestyleFor(age: number | undefined, r: number): string | undefined {
  if (age === undefined) return r < 0.5 ? 'other' : undefined;
  if (age < 20) return 'student';
  if (age >= 65) return r < 0.7 ? 'retired' : r < 0.85 ? 'homemaker' : 'self';
  return r < 0.6 ? 'worker' : r < 0.75 ? 'self' : r < 0.9 ? 'homemaker' : 'other';
}

export async function seedDemoResidentAttributes(
  ch: ClickHouseClient,
  tenants: TenantStore,
  delivery: Delivery,
  sandbox: RunningSandbox,
): Promise<{ tenants: number; residents: number }> {
  const year = Number(tokyoToday(sandbox.world.now()).slice(0, 4));
  const at = chDateTime(sandbox.world.now());
  let seededTenants = 0;
  let seededResidents = 0;
  // (few queries: the embedded engine runs one at a time, and the sandbox's history is pouring in)
  const answered = new Set(
    (
      await (
        await ch.query({ query: 'SELECT DISTINCT tenant_id FROM resident_attributes', format: 'JSONEachRow' })
      ).json<{ tenant_id: string }>()
    ).map((r) => r.tenant_id),
  );
  const rows: Array<Record<string, unknown>> = [];
  for (const tenant of await tenants.list()) {
    const world = tenant.channelId ? sandbox.world.byChannelId(tenant.channelId) : undefined;
    if (!world || answered.has(tenant.id)) continue;
    const categories = await delivery.residents.categories(tenant.id);
    let areas = categories.filter((c) => c.parentId === '@area' && !c.retired).map((c) => c.id);
    if (!areas.length)
      areas = (await delivery.residents.addAreas(tenant.id, AREAS[tenant.id] ?? DEFAULT_AREAS)).map((c) => c.id);
    const middles = categories
      .filter((c) => c.parentId !== '' && c.parentId !== '@area' && !c.retired)
      .map((c) => `${c.parentId}/${c.id}`);
    // a health-mileage programme: 健康 (c3) is the interest most residents choose
    const health = middles.filter((m) => m.startsWith('c3/'));
    let residents = 0;
    for (const userId of world.followerIds()) {
      const r = draws(`${tenant.id}:${userId}`);
      if (r() >= REGISTERED_SHARE) continue;
      residents++;
      const answer = (item: string, values: string[]) => {
        if (values.length)
          rows.push({
            tenant_id: tenant.id,
            user_id: userId,
            item,
            values,
            answered_at: at,
            version: nextVersion(),
            is_deleted: 0,
          });
      };
      const d = world.demographicsOf?.(userId);
      if (d && d.gender !== 'unknown') answer('gender', [d.gender]);
      const age = d?.ageFrom === undefined ? undefined : d.ageFrom + Math.floor(r() * 5);
      if (age !== undefined && age >= 15) answer('birth_year', [String(year - age)]);
      const lifestyle = lifestyleFor(age, r());
      if (lifestyle) answer('lifestyle', [lifestyle]);
      const home = pick(areas, r());
      answer('residence', [home]);
      answer('news_areas', [...new Set([home, ...(r() < 0.3 ? [pick(areas, r())] : [])])]);
      const interests = new Set<string>();
      if (health.length && r() < 0.8) interests.add(`${pick(health, r())}/${home}`);
      for (let n = Math.floor(r() * 3); n > 0; n--) interests.add(`${pick(middles, r())}/${home}`);
      answer('interests', [...interests]);
    }
    seededTenants++;
    seededResidents += residents;
  }
  for (let i = 0; i < rows.length; i += 50_000)
    await ch.insert({ table: 'resident_attributes', format: 'JSONEachRow', values: rows.slice(i, i + 50_000) });
  return { tenants: seededTenants, residents: seededResidents };
}
