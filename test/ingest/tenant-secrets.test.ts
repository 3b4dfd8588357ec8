import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { SecretBox } from '../../core/crypto.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { type TenantCredentials, TenantStore } from '../../core/tenants.ts';
import { SegmentEventLog } from '../../ingest/segment-event-log.ts';
import { TenantSecretsCache } from '../../ingest/tenant-secrets.ts';
import { createWebhookReceiver, isWebhookRequest } from '../../ingest/webhook-receiver.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';
import { event, postWebhook } from '../helpers/webhooks.ts';

let h: Harness;
const logger = createLogger('silent');
const BOT = `U${'1'.repeat(32)}`;
let ch: ClickHouseClient;
let log: SegmentEventLog;

/** A store whose credentials() can be held after it has read the row: a slow reload. */
class SlowTenants extends TenantStore {
  gate: Promise<void> | undefined;
  read: (() => void) | undefined;
  override async credentials(id: string): Promise<TenantCredentials> {
    const row = await super.credentials(id);
    this.read?.();
    if (this.gate) await this.gate;
    return row;
  }
}

beforeAll(async () => {
  h = await harness();
  ch = h.ch;
  log = new SegmentEventLog({ dir: path.join(h.dir, 'log'), maxBytes: 1 << 24, consumers: ['ship'] });
  h.defer('close the event log', () => log.close());
});
afterAll(() => h?.close());

async function serve(secrets: TenantSecretsCache): Promise<{ app: FastifyInstance; base: string }> {
  const front = new FrontHandlers();
  front.add(isWebhookRequest, createWebhookReceiver({ secrets, log, logger }));
  const app = createHttpApp(logger, { front });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

describe('channel secrets cache', () => {
  it('a secret changed while a reload is running leads to a reload after it (no 401 for minutes)', async () => {
    const tenants = new SlowTenants(ch, new SecretBox(randomBytes(32)));
    await tenants.add({ id: '24201', name: '津市', kind: 'municipality', botUserId: BOT });
    await tenants.setCredentials('24201', { channelSecret: 'old-secret', channelAccessToken: 't', lineApi: 'sandbox' });
    const secrets = new TenantSecretsCache(tenants, logger);
    await secrets.reload();
    const { app, base } = await serve(secrets);
    try {
      const body = { destination: BOT, events: [event('follow', `U${'a'.repeat(32)}`)] };
      expect((await postWebhook(`${base}/webhook/24201`, body, 'old-secret')).status).toBe(200);

      // a reload that has read the rows (old secret) and is held up
      let release!: () => void;
      tenants.gate = new Promise((r) => (release = r));
      const readRows = new Promise<void>((r) => (tenants.read = r));
      const slow = secrets.reload();
      await readRows;
      tenants.read = undefined;
      // the secret is rotated meanwhile (this fires onChange → a reload while the slow one runs)
      tenants.gate = undefined;
      await tenants.setCredentials('24201', {
        channelSecret: 'new-secret',
        channelAccessToken: 't',
        lineApi: 'sandbox',
      });
      release();
      await slow;
      await waitFor(
        async () => (secrets.get('24201') as { channelSecret?: string } | undefined)?.channelSecret === 'new-secret',
        5000,
        'the rotated secret to be loaded',
      );
      const r = await postWebhook(`${base}/webhook/24201`, { ...body, events: [event('follow', BOT)] }, 'new-secret');
      expect(r.status).toBe(200);
      expect((await postWebhook(`${base}/webhook/24201`, body, 'old-secret')).json.error?.code).toBe(
        'signature_invalid',
      );
    } finally {
      await app.close();
    }
  });

  it("one tenant's undecryptable secret answers 401 for that tenant only", async () => {
    // a secret written with another key (a key mix-up, a damaged row): this store cannot decrypt it
    const other = new TenantStore(ch, new SecretBox(randomBytes(32)));
    await other.add({ id: '24203', name: '伊勢市', kind: 'municipality', botUserId: BOT });
    await other.setCredentials('24203', { channelSecret: 'ise-secret', channelAccessToken: 't', lineApi: 'sandbox' });
    const tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
    await tenants.add({ id: '24204', name: '松阪市', kind: 'municipality', botUserId: BOT });
    await tenants.setCredentials('24204', { channelSecret: 'matsusaka', channelAccessToken: 't', lineApi: 'sandbox' });
    const secrets = new TenantSecretsCache(tenants, logger);
    await secrets.reload();
    const { app, base } = await serve(secrets);
    try {
      const body = { destination: BOT, events: [event('follow', `U${'b'.repeat(32)}`)] };
      const bad = await postWebhook(`${base}/webhook/24203`, body, 'ise-secret');
      expect(bad.status).toBe(401);
      expect(bad.json.error?.code).toBe('channel_secret_unreadable');
      expect((await postWebhook(`${base}/webhook/24204`, body, 'matsusaka')).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
