import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../core/errors.ts';

/** What a running suite leaves in its data directory so that CLI commands can go through its API. */
export interface SuiteState {
  pid: number;
  url: string;
  token: string;
  startedAt: string;
}

/**
 * The data directory's suite.json: written as `starting` as soon as a suite claims the directory
 * (before it opens ClickHouse), `ready` with its URL and token once start-up is complete, and
 * `stopping` while it shuts down. A CLI command waits through `starting` and `stopping`.
 */
export type SuiteFile =
  | (SuiteState & { state?: 'ready' })
  | { pid: number; state: 'starting' | 'stopping'; startedAt: string };

const file = (dataDir: string) => path.join(dataDir, 'suite.json');

export function writeSuiteState(dataDir: string, state: SuiteFile): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = `${file(dataDir)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file(dataDir));
}

export function removeSuiteState(dataDir: string): void {
  try {
    const s = JSON.parse(fs.readFileSync(file(dataDir), 'utf8')) as SuiteState;
    if (s.pid === process.pid) fs.rmSync(file(dataDir));
  } catch {
    /* nothing to remove */
  }
}

/** The suite.json of another live process on this data directory, whatever its state. */
export function liveSuiteFile(dataDir: string): SuiteFile | undefined {
  let s: SuiteFile;
  try {
    s = JSON.parse(fs.readFileSync(file(dataDir), 'utf8')) as SuiteFile;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(s.pid) || s.pid === process.pid) return undefined;
  try {
    process.kill(s.pid, 0);
    return s;
  } catch {
    return undefined;
  }
}

/** The suite ready on this data directory (its API answers), if any; a starting one is not. */
export function runningSuite(dataDir: string): SuiteState | undefined {
  const s = liveSuiteFile(dataDir);
  return s && (s.state === undefined || s.state === 'ready') ? s : undefined;
}

/**
 * The suite on this data directory for a CLI command: waits while one is starting or stopping
 * (it holds the data directory but has no API yet), up to `waitMs`, then says so plainly.
 */
export async function awaitSuite(
  dataDir: string,
  opts: { waitMs?: number; say?: (line: string) => void } = {},
): Promise<SuiteState | undefined> {
  const waitMs = opts.waitMs ?? Number(process.env.TAYORI_CLI_WAIT_MS ?? 60_000);
  const say = opts.say ?? ((line: string) => console.error(line));
  const t0 = Date.now();
  let told = false;
  for (;;) {
    const s = liveSuiteFile(dataDir);
    if (!s) return undefined;
    if (s.state === undefined || s.state === 'ready') return s;
    const what = s.state === 'starting' ? '起動中' : '停止中';
    const waited = Date.now() - t0;
    if (waited >= waitMs) {
      throw new AppError(
        s.state === 'starting' ? 'suite_starting' : 'suite_stopping',
        `このデータディレクトリ (${dataDir}) の Tayori (pid ${s.pid}) は${what}です。` +
          `${Math.round(waited / 1000)} 秒待ちましたが終わりませんでした。${s.state === 'starting' ? '起動が終わってから' : '停止が終わってから'}もう一度実行してください`,
        503,
      );
    }
    if (!told && waited >= 500) {
      say(`Tayori (pid ${s.pid}) が${what}です。終わるのを待っています…`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Calls the running suite's API with its local token; errors keep the API's code and Japanese message. */
export async function callSuite<T>(suite: SuiteState, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(suite.url + path, {
      method,
      headers: { authorization: `Bearer ${suite.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new AppError(
      'suite_unreachable',
      `稼働中の Tayori (${suite.url}) に接続できません: ${(e as Error).message}`,
      503,
    );
  }
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok)
    throw new AppError(json.error?.code ?? 'api_error', json.error?.message ?? `HTTP ${res.status}`, res.status);
  return json as T;
}

/**
 * Runs `fn` with a gateway to the data: through the running suite's API when one holds the data
 * directory, directly otherwise. Commands that work both ways share this.
 */
export async function withGateway<G extends { close(): Promise<void> }, T>(
  dataDir: string,
  gateways: { api: (suite: SuiteState) => G; direct: () => Promise<G> },
  fn: (g: G) => Promise<T>,
): Promise<T> {
  const suite = await awaitSuite(dataDir);
  const g = suite ? gateways.api(suite) : await gateways.direct();
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}
