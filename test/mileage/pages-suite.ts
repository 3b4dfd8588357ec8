/**
 * The suite mileage's page tests run against: the demo suite in this process (cli/suite.ts, so the
 * pages, APIs and downloads are wired as in production), its municipalities on the sandbox, each
 * with a LIFF app made through the sandbox's LIFF server API; the operator token for set-up calls.
 */
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { testConfig, tmpDir } from '../helpers/index.ts';

export interface PagesSuite {
  suite: Suite;
  url: string;
  /** The staff API with the operator token. */
  op<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startPagesSuite(prefix: string): Promise<PagesSuite> {
  const tmp = tmpDir(prefix);
  let suite: Suite;
  try {
    suite = await startSuite(
      testConfig(tmp.dir, { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' }),
      createLogger(process.env.TEST_LOG ?? 'silent'),
      { demo: true },
    );
  } catch (e) {
    tmp.remove();
    throw e;
  }
  const op = async <T = any>(method: string, path: string, body?: unknown) => {
    const res = await fetch(suite.url + path, {
      method,
      headers: {
        authorization: `Bearer ${suite.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  return {
    suite,
    url: suite.url,
    op,
    close: async () => {
      await suite.close();
      tmp.remove();
    },
  };
}
