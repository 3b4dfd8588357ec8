/**
 * The self-check's certificate check against a real TLS server (node's https) serving a committed
 * self-signed certificate whose notAfter is fixed (2036-01-01T00:00:00Z), so no openssl is needed to
 * run the test and no figure depends on today's date: the clock is injected.
 *
 * The fixture was made once with OpenSSL 3.0 (CN=localhost, SAN DNS:localhost, IP:127.0.0.1):
 *   openssl req -new -newkey rsa:2048 -nodes -keyout localhost-2036.key -out req.csr -config ca.cnf
 *   openssl ca -batch -selfsign -config ca.cnf -keyfile localhost-2036.key -in req.csr \
 *     -out localhost-2036.crt -startdate 20260101000000Z -enddate 20360101000000Z -notext
 * Its key is a test key for 127.0.0.1 only.
 */
import fs from 'node:fs';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../core/audit.ts';
import { createLogger } from '../../core/logger.ts';
import { createMailer } from '../../core/mailer.ts';
import { certificateDaysLeft } from '../../ops/monitor.ts';
import { Monitor, OpsRecords } from '../../ops/index.ts';
import { harness, repoRoot, type Harness } from '../helpers/index.ts';

const fixture = (name: string) => fs.readFileSync(path.join(repoRoot, 'test/ops/fixtures', name));
const NOT_AFTER = Date.parse('2036-01-01T00:00:00Z');
const DAY = 86_400_000;

let h: Harness;
let server: https.Server;
let url = '';
/** A port nothing listens on (taken and given back). */
let closedPort = 0;
/** A TCP listener that never speaks TLS. */
let silent: net.Server;
let silentUrl = '';
const held: net.Socket[] = [];

const listen = (s: net.Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

beforeAll(async () => {
  h = await harness({});
  server = https.createServer({ cert: fixture('localhost-2036.crt'), key: fixture('localhost-2036.key') }, (_q, res) =>
    res.end('ok'),
  );
  url = `https://127.0.0.1:${await listen(server)}/`;
  const spare = net.createServer();
  closedPort = await listen(spare);
  await new Promise((r) => spare.close(r));
  silent = net.createServer((socket) => held.push(socket));
  silentUrl = `https://127.0.0.1:${await listen(silent)}/`;
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  for (const socket of held) socket.destroy();
  await new Promise((r) => silent?.close(r));
  await h?.close();
});

/** A self-check whose clock stands at `now`, with nothing wrong but (maybe) the certificate. */
function monitor(publicUrl: string, now: number, certificateDays?: number): Monitor {
  const logger = createLogger('silent');
  return new Monitor({
    ch: h.ch,
    records: new OpsRecords(h.ch, new AuditLog(h.ch, logger), () => now),
    mailer: createMailer({}),
    logger,
    sources: { readiness: async () => ({ status: 'ok', errors: {} }), publicUrl },
    intervalMs: 60_000,
    incidentAfterMs: 0,
    certificateDays,
    now: () => now,
  });
}

describe('certificateDaysLeft', () => {
  it('counts the days to the served certificate’s notAfter from the given clock', async () => {
    expect(await certificateDaysLeft(url, { now: NOT_AFTER - 30 * DAY })).toBe(30);
    expect(await certificateDaysLeft(url, { now: NOT_AFTER - 12 * 3_600_000 })).toBe(0.5);
    expect(await certificateDaysLeft(url, { now: NOT_AFTER + 2 * DAY })).toBe(-2);
  });

  it('rejects for a host that refuses or never answers', async () => {
    await expect(certificateDaysLeft(`https://127.0.0.1:${closedPort}/`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await expect(certificateDaysLeft(silentUrl, { timeoutMs: 300 })).rejects.toThrow('timeout');
  });
});

describe('the self-check and the certificate', () => {
  it('reports the certificate when fewer days are left than the threshold, and not when more', async () => {
    const soon = await monitor(url, NOT_AFTER - 10 * DAY).problems();
    expect(soon.up).toBe(true);
    expect(soon.problems).toEqual([
      {
        key: 'certificate',
        message: expect.stringMatching(/^127\.0\.0\.1:\d+ のサーバー証明書の有効期限まで 10 日です \(14 日未満\)$/),
      },
    ]);
    expect((await monitor(url, NOT_AFTER - 20 * DAY).problems()).problems).toEqual([]);
    // the threshold is the option's
    expect((await monitor(url, NOT_AFTER - 20 * DAY, 30).problems()).problems.map((p) => p.key)).toEqual([
      'certificate',
    ]);
    expect((await monitor(url, NOT_AFTER + DAY).problems()).problems[0]?.message).toMatch(
      /のサーバー証明書の有効期限が切れています$/,
    );
  });

  it('an expiring certificate opens an incident record (自動検知) at the check', async () => {
    const now = NOT_AFTER - 3 * DAY;
    const m = monitor(url, now);
    await m.check();
    expect(m.last?.problems.map((p) => p.key)).toEqual(['certificate']);
    const records = new OpsRecords(h.ch, new AuditLog(h.ch));
    const incidents = (await records.list('incident')).filter((i) => i.checkKey === 'certificate');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ source: '自動検知', status: '対応中', recoveredAt: null });
    expect(incidents[0]!.title).toContain('有効期限まで 3 日');
    await m.stop();
  });

  it('an unreachable public URL is a problem said in Japanese, not a crash', async () => {
    const r = await monitor(`https://127.0.0.1:${closedPort}/`, NOT_AFTER - 100 * DAY).problems();
    expect(r.up).toBe(true);
    expect(r.problems).toEqual([
      {
        key: 'certificate',
        message: `127.0.0.1:${closedPort} のサーバー証明書を確認できません (接続を拒否されました)`,
      },
    ]);
  });
});
