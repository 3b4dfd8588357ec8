import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openClickHouse } from '../../core/clickhouse.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { harness, isAlive, seedClickHouse, stillResidents, Teardown } from './index.ts';

describe('the shared test harness', () => {
  it('starts the parts asked for, wires tenants to the sandbox, and tears down in reverse order', async () => {
    const h = await harness({
      redis: true,
      sandbox: {
        config: {
          channels: [
            {
              channelId: '3000000901',
              botUserId: `U${'7'.repeat(32)}`,
              channelSecret: 'harness-secret',
              channelAccessToken: 'harness-token',
              residents: stillResidents(5, 1),
            },
          ],
        },
      },
      tenants: [
        { id: '24201', name: '津市', kind: 'municipality', channelId: '3000000901', credentials: 'sandbox' },
        { id: '24202', name: '四日市市', kind: 'municipality' },
      ],
    });
    const order: string[] = [];
    h.defer('first', () => void order.push('first'));
    const app = createHttpApp(createLogger('silent'));
    app.get('/ping', async () => ({ ok: true }));
    app.addHook('onClose', async () => void order.push('app'));
    const base = await h.serve(app);
    h.defer('second', () => void order.push('second'));
    try {
      const applied = await h.ch.query({ query: 'SELECT count() AS c FROM schema_migrations', format: 'JSONEachRow' });
      expect(Number((await applied.json<{ c: string }>())[0]!.c)).toBeGreaterThan(0);
      expect(await h.redis.client.ping()).toBe('PONG');
      expect(await h.tenants.credentials('24201')).toMatchObject({
        channelSecret: 'harness-secret',
        channelAccessToken: 'harness-token',
        lineApi: 'sandbox',
      });
      expect((await h.tenants.get('24202'))?.hasCredentials).toBe(false);
      expect((await fetch(`${h.sandbox.url}/__sandbox/channels`)).status).toBe(200);
      expect((await fetch(`${base}/ping`)).status).toBe(200);
    } finally {
      await h.close();
    }
    expect(order).toEqual(['second', 'app', 'first']);
    await expect(fetch(`${base}/ping`)).rejects.toThrow();
    expect(isAlive(h.redis.server.pid)).toBe(false);
    await expect(fetch(h.sandbox.url)).rejects.toThrow();
    expect(fs.existsSync(h.dir)).toBe(false);
    await h.close(); // a second close does nothing more
  });

  it('says which part it was started without', async () => {
    const h = await harness({ clickhouse: false });
    try {
      expect(() => h.redis).toThrow(/without redis/);
      expect(() => h.ch).toThrow(/without clickhouse/);
      expect(() => h.sandbox).toThrow(/without a sandbox/);
    } finally {
      await h.close();
    }
  });

  it('seeds ClickHouse for a process that opens it afterwards, and makes no key file unless tenants are read', async () => {
    const h = await harness({ clickhouse: false });
    try {
      const keyFile = h.config.secretKey.kind === 'file' ? h.config.secretKey.path : '';
      expect(keyFile && fs.existsSync(keyFile)).toBe(false);
      await seedClickHouse(h.config, async (_ch, tenants) => {
        await tenants.add({ id: '24203', name: '伊勢市', kind: 'municipality' });
      });
      // closed again: the directory can be opened anew and holds what was written
      const ch = await openClickHouse(h.config.clickhouse);
      try {
        const rs = await ch.query({
          query: "SELECT name FROM tenants FINAL WHERE tenant_id = '24203'",
          format: 'JSONEachRow',
        });
        expect(await rs.json()).toEqual([{ name: '伊勢市' }]);
      } finally {
        await ch.close();
      }
    } finally {
      await h.close();
    }
  });

  it('gives up on a teardown step that never ends, runs the rest, and says which one failed', async () => {
    const t = new Teardown(200);
    const ran: string[] = [];
    t.add('last', () => void ran.push('last'));
    t.add('throws', () => {
      throw new Error('broken');
    });
    t.add('hangs', () => new Promise(() => undefined));
    await expect(t.run()).rejects.toThrow(/hangs: no end within 200 ms; throws: broken/);
    expect(ran).toEqual(['last']);
  });
});
