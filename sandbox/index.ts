/**
 * The sandbox: a local stand-in for the LINE Platform (Messaging API, Insight API, webhooks,
 * simulated residents). `startSandbox` starts the world and the HTTP server; point
 * `@line/bot-sdk` clients' `baseURL` at the returned `url`.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { sandboxConfigSchema, type SandboxConfig } from './world.ts';
import { createWorld, type CreateWorldOptions, type SandboxWorld } from './residents/index.ts';
import { createSandboxServer, type SandboxServer, type SandboxServerOptions } from './api/index.ts';

export { sandboxConfigSchema, type SandboxConfig, type World } from './world.ts';
export {
  createSandboxServer,
  type RecordedResponse,
  type SandboxServer,
  type SandboxServerOptions,
} from './api/index.ts';

export interface StartSandboxOptions {
  /** A SandboxConfig, or anything to be parsed with sandboxConfigSchema. */
  config: SandboxConfig | unknown;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Test instrumentation (e.g. record every response). */
  server?: SandboxServerOptions;
  /** Passed to the world (fake real clock, webhook options, event tap …). */
  world?: CreateWorldOptions;
}

export interface RunningSandbox {
  /** Base URL for the SDK clients, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The simulated world (advanceBy, settle, webhookStats … besides the World contract). */
  world: SandboxWorld;
  config: SandboxConfig;
  api: SandboxServer;
  close(): Promise<void>;
}

export class SandboxConfigError extends Error {}

/** Explains a ZodError as "field: problem" lines. */
function describeIssues(e: ZodError): string {
  return e.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

export function parseSandboxConfig(input: unknown, source = 'sandbox config'): SandboxConfig {
  const result = sandboxConfigSchema.safeParse(input);
  if (!result.success) throw new SandboxConfigError(`${source}: invalid — ${describeIssues(result.error)}`);
  const config = result.data;
  const seen = new Map<string, string>();
  for (const [i, c] of config.channels.entries()) {
    for (const [field, value] of [
      ['channelId', c.channelId],
      ['channelAccessToken', c.channelAccessToken],
      // a LINE Login channel belongs to one provider: its id is taken once
      ...(c.login ? ([['login.channelId', c.login.channelId]] as const) : []),
    ] as const) {
      const key = `${field}\u0000${value}`;
      if (seen.has(key))
        throw new SandboxConfigError(`${source}: invalid — channels.${i}.${field}: duplicates ${seen.get(key)}`);
      seen.set(key, `channels.${i}.${field}`);
    }
  }
  return config;
}

/** Reads a sandbox config from a JSON or YAML file; errors name the file and the bad field. */
export function loadSandboxConfigFile(path: string): SandboxConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SandboxConfigError(
      `${path}: cannot read sandbox config (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new SandboxConfigError(
      `${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'} — ${(e as Error).message}`,
    );
  }
  return parseSandboxConfig(raw, path);
}

export async function startSandbox(options: StartSandboxOptions): Promise<RunningSandbox> {
  const config = parseSandboxConfig(options.config);
  const host = options.host ?? '127.0.0.1';
  const world = createWorld(config, options.world);
  const api = createSandboxServer(world, config, options.server);
  await new Promise<void>((resolve, reject) => {
    api.server.once('error', reject);
    api.server.listen(options.port ?? 0, host, () => {
      api.server.off('error', reject);
      resolve();
    });
  });
  world.start();
  const port = (api.server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    world,
    config,
    api,
    close() {
      closed ??= (async () => {
        await world.stop();
        await api.close();
      })();
      return closed;
    },
  };
}
