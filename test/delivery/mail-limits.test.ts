/**
 * Mail bombs against one tenant from many senders: delivery's real mail intake (embedded ClickHouse,
 * a real redis-server) refuses every mail past the tenant's hourly limit whoever sends it, records
 * the first refusal once, and leaves another tenant untouched. Unknown senders count too (a bomb
 * need not come from an allowed address). The limits hold in any hour (a sliding window, not clock
 * hours): the intake's clock is the test's, so nothing depends on the time the test runs at. The
 * listener is not needed for the counting: the intake is what it calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '../../delivery/index.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { mailDelivery } from './mail-delivery.ts';

let h: Harness;
let delivery: Delivery;
/** The intake's clock: 11:59 (Japan time) on a fixed day, a minute before a clock hour begins. */
let now = Date.UTC(2026, 5, 1, 2, 59, 0);

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-mail-limits-',
    redis: true,
    tenants: [
      { id: '24201', name: '津市', kind: 'municipality' },
      { id: '24202', name: '四日市市', kind: 'municipality' },
      { id: '24203', name: '伊勢市', kind: 'municipality' },
    ],
  });
  delivery = mailDelivery(h, {
    domain: 'mail.tayori.test',
    limits: { perTenantPerHour: 4, perSenderPerHour: 2 },
    clock: () => now,
  });
  for (const t of ['24201', '24202', '24203'])
    await delivery.mail.store.putSettings(
      { tenantId: t, secret: 'abcdefghijklmnopqrst', allowedSenders: ['@pref.mie.example'], enabled: true },
      'test',
    );
}, 60_000);
afterAll(() => h?.close());

const mail = (sender: string, subject: string) => ({
  sender,
  senderName: '',
  subject,
  text: '本文',
  messageId: '',
  date: Date.now(),
  remoteIp: '127.0.0.1',
});

describe('mail limits per tenant', () => {
  it('refuses the fifth mail of the hour from any sender, records it once, and spares other tenants', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 7; i++) {
      const sender = i % 2 ? `stranger${i}@example.com` : `staff${i}@pref.mie.example`;
      outcomes.push((await delivery.mail.intake.receive('24201', mail(sender, `お知らせ ${i}`))).outcome);
    }
    // allowed senders without a rule are parked, others rejected; past four: limited
    expect(outcomes).toEqual(['parked', 'rejected', 'parked', 'rejected', 'limited', 'limited', 'limited']);
    const log = await delivery.mail.store.log('24201');
    expect(log.map((m) => m.outcome).sort()).toEqual(['limited', 'parked', 'parked', 'rejected', 'rejected']);
    expect(log.find((m) => m.outcome === 'limited')).toMatchObject({ subject: 'お知らせ 4', reason: 'too_many_mails' });
    expect((await delivery.mail.intake.receive('24202', mail('staff@pref.mie.example', '別の団体'))).outcome).toBe(
      'parked',
    );
    // the address names the tenant only with its secret, and only when mail is on
    expect(await delivery.mail.intake.recipient('24201-abcdefghijklmnopqrst@mail.tayori.test')).toBe('24201');
    expect(await delivery.mail.intake.recipient('24201-abcdefghijklmnopqrsu@mail.tayori.test')).toBeUndefined();
    expect(await delivery.mail.intake.recipient('24201-abcdefghijklmnopqrst@other.test')).toBeUndefined();
    await delivery.mail.store.putSettings(
      { tenantId: '24202', secret: 'abcdefghijklmnopqrst', allowedSenders: [], enabled: false },
      'test',
    );
    expect(await delivery.mail.intake.recipient('24202-abcdefghijklmnopqrst@mail.tayori.test')).toBeUndefined();
  });
});

describe('mail limits in any hour', () => {
  const at = (hhmmss: string, ms = 0) => {
    const [hh, mm, ss] = hhmmss.split(':').map(Number) as [number, number, number];
    now = Date.UTC(2026, 5, 1, hh - 9, mm, ss, ms);
  };
  const receive = async (sender: string, subject: string) =>
    (await delivery.mail.intake.receive('24203', mail(sender, subject))).outcome;
  const A = 'a@pref.mie.example';
  const B = 'b@pref.mie.example';
  const C = 'c@pref.mie.example';

  it('counts the last hour across a clock hour, per sender and per tenant, and admits again as mails leave it', async () => {
    const outcomes: string[] = [];
    const step = async (time: string, sender: string, ms = 0) => {
      at(time, ms);
      outcomes.push(await receive(sender, `${time} ${sender}`));
    };
    await step('11:59:00', A);
    await step('11:59:10', A);
    // a new clock hour: A has still sent two (its limit) in the last hour
    await step('12:00:30', A);
    await step('12:00:40', B);
    await step('12:00:50', B);
    // four for the tenant in the last hour (its limit), whoever sends
    await step('12:01:00', C);
    await step('12:58:59', C);
    // A's first mail (11:59:00) has left the window: one more from A, then the tenant is full again
    await step('12:59:00', A, 1);
    await step('12:59:00', C, 2);
    expect(outcomes).toEqual([
      'parked',
      'parked',
      'limited',
      'parked',
      'parked',
      'limited',
      'limited',
      'parked',
      'limited',
    ]);
    // the first refusal of each full window is recorded, not the one in between
    const limited = (await delivery.mail.store.log('24203')).filter((m) => m.outcome === 'limited');
    expect(limited.map((m) => m.subject).sort()).toEqual([`12:00:30 ${A}`, `12:01:00 ${C}`, `12:59:00 ${C}`]);
  });
});
