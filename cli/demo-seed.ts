import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TenantStore } from '../core/tenants.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/**
 * The prefecture and its municipalities: ../shared/data/mie-municipalities.csv where the
 * project sits beside shared/, else the copy kept in cli/seed/.
 */
export function municipalitiesCsvPath(): string {
  const shared = path.resolve(repoRoot, '../shared/data/mie-municipalities.csv');
  return fs.existsSync(shared) ? shared : path.join(repoRoot, 'cli/seed/mie-municipalities.csv');
}

export interface MunicipalityRow {
  code: string;
  name: string;
  kana: string;
  kind: 'prefecture' | 'municipality';
  population: number | null;
}

export function readMunicipalities(file = municipalitiesCsvPath()): MunicipalityRow[] {
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = header!.split(',');
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`${file}: column '${name}' is missing`);
    return i;
  };
  const [code, name, kana, kind, pop] = ['code', 'name', 'kana', 'kind', 'population_approx'].map(at) as number[];
  return lines
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.split(',');
      return {
        code: f[code!]!.trim(),
        name: f[name!]!.trim(),
        kana: f[kana!]!.trim(),
        kind: f[kind!]!.trim() === 'prefecture' ? 'prefecture' : 'municipality',
        population: f[pop!]?.trim() ? Number(f[pop!]) : null,
      };
    });
}

/** Deterministic sandbox identifiers for a tenant (the secret and token are random). */
export function sandboxIdentity(code: string): { channelId: string; botUserId: string } {
  return {
    channelId: `2${code}0000`,
    botUserId: `U${createHash('sha256').update(`tayori-sandbox-bot:${code}`).digest('hex').slice(0, 32)}`,
  };
}

/**
 * The sandbox's LINE Login channel of a tenant (for its residents' LIFF pages): a deterministic id,
 * and a secret derived from the tenant's (random, stored encrypted) Messaging API channel secret, so
 * the Login channel is the same on every start without storing another secret.
 */
export function sandboxLoginIdentity(
  code: string,
  channelSecret: string,
): { channelId: string; channelSecret: string } {
  return {
    channelId: `1${code}0000`,
    channelSecret: createHash('sha256').update(`tayori-sandbox-login:${channelSecret}`).digest('hex').slice(0, 32),
  };
}

/**
 * Registers every municipality that is not registered yet, wired to the sandbox with fresh
 * credentials. Existing tenants (and any real credentials set on them) are left alone.
 */
export async function seedDemoTenants(tenants: TenantStore, rows = readMunicipalities()): Promise<number> {
  const existing = new Set((await tenants.list()).map((t) => t.id));
  let added = 0;
  for (const r of rows) {
    if (existing.has(r.code)) continue;
    const id = sandboxIdentity(r.code);
    await tenants.add({ id: r.code, name: r.name, nameKana: r.kana, kind: r.kind, population: r.population, ...id });
    await tenants.setCredentials(r.code, {
      channelSecret: randomBytes(16).toString('hex'),
      channelAccessToken: randomBytes(30).toString('base64url'),
      lineApi: 'sandbox',
    });
    added++;
  }
  return added;
}
