import fs from 'node:fs';
import path from 'node:path';

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
