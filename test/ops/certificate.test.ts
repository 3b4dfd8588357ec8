/**
 * The self-check's certificate check against a real TLS server (node's https) serving a self-signed
 * certificate made for the run with openssl (the bootstrap installs it; CN=localhost, IP 127.0.0.1,
 * valid 30 days). No figure depends on today's date: the clock is injected relative to the
 * certificate's own notAfter, read back with node's X509Certificate. No key is kept in the repository.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
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
import { harness, type Harness } from '../helpers/index.ts';

/** The certificate's notAfter (ms), set once it is made. */
let NOT_AFTER = 0;
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
  const made = (name: string) => path.join(h.dir, name);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      made('tls.key'),
      '-out',
      made('tls.crt'),
      '-days',
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  const cert = fs.readFileSync(made('tls.crt'));
  NOT_AFTER = Date.parse(new X509Certificate(cert).validTo);
  server = https.createServer({ cert, key: fs.readFileSync(made('tls.key')) }, (_q, res) => res.end('ok'));
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
