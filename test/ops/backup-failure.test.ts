/**
 * A backup that fails is never silent: the call fails in Japanese, nothing is left half-written,
 * the failure is recorded (the status the 運用 page shows), counted on /metrics and mailed to the
 * contacts (a local SMTP listener).
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import { createMailer } from '../../core/mailer.ts';
import { metricsText } from '../../core/metrics-registry.ts';
import { createOps } from '../../ops/index.ts';
import { isOpenDay } from '../../reports/due-date.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';

const mails: Array<{ subject: string; text: string }> = [];
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, _s, done) {
    simpleParser(stream)
      .then((m) => {
        mails.push({ subject: m.subject ?? '', text: m.text ?? '' });
        done();
      })
      .catch(done);
  },
});
let h: Harness;

beforeAll(async () => {
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  h = await harness({});
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => smtp.close(() => r()));
});

it('fails in Japanese, leaves nothing, and is recorded, counted and mailed', async () => {
  const port = (smtp.server.address() as AddressInfo).port;
  const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, to: ['ops@example.jp'] });
  const backupDir = path.join(h.dir, 'backups');
  // a store that cannot be read: its copy throws
  const ops = createOps({
    ch: h.ch,
    logger: createLogger('silent'),
    mailer,
    settings: {
      backupDir,
      backupTime: '03:00',
      keepDaily: 7,
      keepWeekly: 4,
      checkIntervalMs: 60_000,
      incidentAfterMs: 0,
    },
    sources: { readiness: async () => ({ status: 'ok', errors: {} }) },
    stores: [
      {
        name: 'cards',
        dir: path.join(h.dir, 'cards'),
        copy: async () => {
          throw new Error('EACCES: permission denied');
        },
      },
    ],
    isOpenDay,
    selfCheck: false,
  });
  await expect(ops.backup('テスト')).rejects.toMatchObject({ code: 'backup_failed', status: 500 });
  expect(fs.readdirSync(backupDir)).toEqual([]); // no partial directory
  const status = await ops.status();
  expect(status.backups[0]).toMatchObject({ ok: false, madeBy: 'テスト' });
  expect(status.backups[0]!.error).toContain('EACCES');
  const text = await metricsText();
  expect(text).toContain('tayori_backup_last_ok 0');
  expect(text).toMatch(/tayori_backups_total\{outcome="failed"\} [1-9]/);
  await waitFor(async () => mails.length > 0, 20_000, 'the failure mail');
  expect(mails[0]!.subject).toBe('【バックアップ失敗】Tayori のバックアップに失敗しました');
  expect(mails[0]!.text).toContain('EACCES');
  expect(mails[0]!.text).toContain(backupDir);
  mailer.close();
}, 60_000);
