/**
 * Mail while Redis is unavailable: the intake's limits live in Redis on delivery's fail-fast request
 * connection, so an SMTP mail to a tenant's address is answered at once with a temporary failure
 * (451 4.x.x, the sending server tries again later) — not held while the queues' connection waits for
 * Redis. The listener keeps serving meanwhile (a wrong address still gets its 550), nothing is
 * recorded for the refused attempts, and once redis-server is back the retry is taken and recorded
 * once. Redis stalled (SIGSTOP: connected, answering nothing): 451 as well,
 * once the command times out. Real delivery with its SMTP listener (embedded ClickHouse, a real
 * redis-server, nodemailer as the client); a version that hangs would not answer within the test's
 * timeout.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../../delivery/index.ts';
import { harness, isAlive, redisPidOf, startTestRedis, waitFor, type Harness } from '../helpers/index.ts';
import { mailDelivery } from './mail-delivery.ts';

const T = '24201';
const SECRET = 'abcdefghijklmnopqrst';
const ADDRESS = `${T}-${SECRET}@mail.tayori.test`;
let h: Harness;
let delivery: Delivery;

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-mail-redis-',
    redis: true,
    tenants: [{ id: T, name: '津市', kind: 'municipality' }],
  });
  delivery = mailDelivery(h, { domain: 'mail.tayori.test', listen: { host: '127.0.0.1', port: 0 } });
  // the harness's own client reconnects while the server is down: expected, not worth printing
  h.redis.client.on('error', () => undefined);
  await delivery.mail.start();
  await delivery.mail.store.putSettings(
    { tenantId: T, secret: SECRET, allowedSenders: ['@pref.mie.example'], enabled: true },
    'test',
  );
}, 60_000);
afterAll(() => h?.close());

/** One mail over SMTP (`n` in its Message-ID); the server's answer code (250 when taken). */
async function send(n = 1, to = ADDRESS): Promise<number | undefined> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: delivery.mail.port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      from: 'kisho@pref.mie.example',
      to,
      subject: '大雨警報 発表',
      text: '津市に大雨警報が出ました。',
      messageId: `<keihou-${n}@pref.mie.example>`,
    });
    return 250;
  } catch (e) {
    return (e as { responseCode?: number }).responseCode;
  } finally {
    transport.close();
  }
}

describe('mail while Redis is unavailable', () => {
  it('answers 451 at once while redis-server is stopped, keeps serving, and takes the retry once it is back', async () => {
    const { pid, port } = h.redis.server;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !isAlive(pid), 10_000, 'redis-server gone');

    expect(await send()).toBe(451);
    // still answering: an address that is not a tenant's (no Redis needed) is refused at RCPT
    expect(await send(1, `${T}-aaaaaaaaaaaaaaaaaaaa@mail.tayori.test`)).toBe(550);
    expect(await send()).toBe(451);
    expect(await delivery.mail.store.log(T)).toEqual([]);

    const restarted = await startTestRedis(h.dir, port);
    h.defer('stop the restarted redis-server', () => restarted.stop());
    // the sending server's retry, once the request connection is back (ioredis reconnects on its own)
    await waitFor(async () => (await send()) === 250, 30_000, 'the mail taken');
    // taken (no rule for it here: parked), recorded once — the refused attempts left nothing behind
    expect(await delivery.mail.store.log(T)).toEqual([
      expect.objectContaining({ outcome: 'parked', reason: 'no_rule', subject: '大雨警報 発表' }),
    ]);
  }, 60_000);

  it('answers 451 while redis-server is stalled, then takes mail again', async () => {
    const server = redisPidOf(h.dir);
    process.kill(server, 'SIGSTOP');
    try {
      expect(await send(2)).toBe(451);
    } finally {
      process.kill(server, 'SIGCONT');
    }
    await waitFor(async () => (await send(2)) === 250, 30_000, 'the mail taken');
    expect((await delivery.mail.store.log(T)).map((m) => m.outcome)).toEqual(['parked', 'parked']);
  }, 60_000);
});
