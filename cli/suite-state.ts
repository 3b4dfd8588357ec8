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

const file = (dataDir: string) => path.join(dataDir, 'suite.json');

export function writeSuiteState(dataDir: string, state: SuiteState): void {
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

/** The suite running on this data directory, if its process is alive. */
export function runningSuite(dataDir: string): SuiteState | undefined {
  let s: SuiteState;
  try {
    s = JSON.parse(fs.readFileSync(file(dataDir), 'utf8')) as SuiteState;
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
  const suite = runningSuite(dataDir);
  const g = suite ? gateways.api(suite) : await gateways.direct();
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}
