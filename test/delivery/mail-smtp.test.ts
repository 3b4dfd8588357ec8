/**
 * Deliveries started by e-mail, on the whole suite with its SMTP listener on (a free port): real
 * mail sent with nodemailer as the client. A mail from an allowed sender matching an urgent rule
 * naming 富田 goes at once to the residents who live in 富田, asked for its news or chose it under an
 * interest — and to nobody else (the sandbox's receipts); its body arrives without quotes or
 * signature; a long one is cut with a link to its full-text page. A non-urgent rule makes a draft
 * only. An unknown sender is refused (550), a mail without a rule or a place is parked, a wrong
 * address is refused at RCPT, the same Message-ID is not delivered twice, and a sender past its hourly
 * limit is refused (451). Every mail is in the log and the audit records; the demo's rule is there.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import nodemailer from 'nodemailer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { chDateTime } from '../../core/time.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, runCli, sandboxHook, testEnv, type Harness } from '../helpers/index.ts';

const T = '24202';
const SENDER = 'bousai@pref.mie.example';
const BOMBER = 'flood@pref.mie.example';
let h: Harness;
let suite: Suite;
let browser: Browser;
let address = '';
let channel = '';
let residents: string[] = [];
let tomida = '';
let tokiwa = '';
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);

interface MailRow {
  mailId: string;
  sender: string;
  subject: string;
  outcome: string;
  reason: string;
  ruleName: string;
  deliveryId: string;
  noticeId: string;
  places: string[];
}
const mails = async () => (await op<{ mails: MailRow[] }>('GET', `/api/v1/tenants/${T}/mail`)).body.mails;

/** Sends one mail over SMTP; the server's answer (or its refusal) comes back. */
async function send(m: { from?: string; to?: string; subject: string; text: string; messageId?: string }) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: suite.delivery.mail.port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const info = await transport.sendMail({ from: m.from ?? SENDER, to: m.to ?? address, ...m });
    return { ok: true as const, response: info.response };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string };
    return { ok: false as const, code: err.responseCode, response: err.response };
  } finally {
    transport.close();
  }
}

const receipts = async (userId: string): Promise<string> =>
  JSON.stringify(await sandboxHook(suite.sandbox!.url, 'GET', `/channels/${channel}/receipts/${userId}`));

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-mail-',
    clickhouse: false,
    env: {
      TAYORI_DEMO_RESIDENT_RATIO: '0.0005',
      TAYORI_DEMO_SPEED: '1000',
      TAYORI_MAIL_INBOUND: 'on',
      TAYORI_MAIL_INBOUND_PORT: '0',
      TAYORI_MAIL_DOMAIN: 'mail.tayori.test',
      TAYORI_MAIL_SENDER_PER_HOUR: '3',
      TAYORI_PUBLIC_URL: 'http://127.0.0.1:9',
    },
  });
  suite = await h.startSuite({ demo: true });
  expect(suite.delivery.mail.port).toBeGreaterThan(0);
  channel = (await suite.tenants.require(T)).channelId;
  residents = (await sandboxHook(suite.sandbox!.url, 'POST', `/channels/${channel}/residents?friends=5`)).friends;
  expect(residents).toHaveLength(5);
  // areas, and residents who registered them: living in 富田, asking for its news, an interest under
  // it; one living in 常磐; one with nothing registered
  const area = async (name: string) =>
    (await op<{ id: string }>('POST', `/api/v1/tenants/${T}/categories`, { parentId: '@area', name })).body.id;
  tomida = await area('富田地区');
  tokiwa = await area('常磐');
  const cats = (
    await op<{ categories: Array<{ id: string; parentId: string }> }>('GET', `/api/v1/tenants/${T}/categories`)
  ).body.categories;
  const large = cats.find((c) => c.parentId === '')!;
  const middle = cats.find((c) => c.parentId === large.id)!;
  const now = chDateTime(Date.now());
  await suite.ch.insert({
    table: 'resident_states',
    format: 'JSONEachRow',
    values: residents.map((u) => ({ tenant_id: T, user_id: u, is_friend: 1, changed_at: now, version: 1 })),
  });
  const attr = (u: string, item: string, values: string[]) => ({
    tenant_id: T,
    user_id: u,
    item,
    values,
    answered_at: now,
    version: 1,
    is_deleted: 0,
  });
  await suite.ch.insert({
    table: 'resident_attributes',
    format: 'JSONEachRow',
    values: [
      attr(residents[0]!, 'residence', [tomida]),
      attr(residents[1]!, 'news_areas', [tokiwa, tomida]),
      attr(residents[2]!, 'interests', [`${large.id}/${middle.id}/${tomida}`]),
      attr(residents[3]!, 'residence', [tokiwa]),
    ],
  });
  const settings = await op('PUT', `/api/v1/tenants/${T}/mail/settings`, {
    enabled: true,
    allowedSenders: [SENDER, '@alert.mie.example', BOMBER],
  });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
  address = settings.body.address;
  expect(address).toMatch(/^24202-[a-z2-7]{20}@mail\.tayori\.test$/);
  const rule = (body: object) => op('POST', `/api/v1/tenants/${T}/mail/rules`, body);
  expect(
    (
      await rule({
        name: '避難情報',
        sort: 1,
        urgent: true,
        match: { from: { kind: 'text', value: 'bousai@' }, subject: { kind: 'text', value: '避難' } },
        template: '【{{subject}}】\n{{body}}',
        audience: { type: 'places' },
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await rule({
        name: '気象警報',
        sort: 2,
        match: { subject: { kind: 'pattern', value: '^(大雨|洪水)警報' } },
        template: '{{subject}}\n{{body}}',
        audience: { type: 'all' },
      })
    ).status,
  ).toBe(201);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('deliveries started by e-mail', () => {
  it('sends an urgent rule at once to the residents of the place named in the mail, body cleaned', async () => {
    const r = await send({
      subject: '富田地区に避難指示',
      text: '富田地区に避難指示を発令しました。\n\n\n\n直ちに避難してください。\n\n防災課 さんは書きました:\n> 前回の訓練のお知らせ\n\n-- \n三重県 防災対策部\nTEL 059-000-0000\n',
      messageId: '<evac-1@pref.mie.example>',
    });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const row = (await mails())[0]!;
    expect(row).toMatchObject({
      sender: SENDER,
      subject: '富田地区に避難指示',
      outcome: 'sent',
      ruleName: '避難情報',
      places: ['富田地区'],
    });
    const d = await suite.delivery.waitFinished(T, row.deliveryId, 60_000);
    expect(d.status).toBe('done');
    expect(d.audience).toMatchObject({ type: 'segment', label: 'メールの地区: 富田地区' });
    expect(d.targets).toBe(3);
    const text = '【富田地区に避難指示】\\n富田地区に避難指示を発令しました。\\n\\n直ちに避難してください。';
    for (const u of residents.slice(0, 3)) expect(await receipts(u)).toContain(text);
    for (const u of residents.slice(3)) expect(await receipts(u)).not.toContain('避難指示');
    expect(await receipts(residents[0]!)).not.toContain('防災対策部');
    expect(await receipts(residents[0]!)).not.toContain('前回の訓練');

    // an MTA's retry of the same message: accepted, not delivered again
    const again = await send({
      subject: '富田地区に避難指示',
      text: '富田地区に避難指示を発令しました。',
      messageId: '<evac-1@pref.mie.example>',
    });
    expect(again.ok).toBe(true);
    expect((await mails()).filter((m) => m.subject === '富田地区に避難指示')).toHaveLength(1);

    const audit = await op<{ records: Array<{ action: string; target: string; detail: any }> }>(
      'GET',
      `/api/v1/audit?tenant=${T}&action=mail_received`,
    );
    expect(audit.body.records.find((a) => a.target === row.mailId)?.detail).toMatchObject({
      sender: SENDER,
      outcome: 'sent',
      deliveryId: row.deliveryId,
    });
    const sent = await op<{ records: Array<{ target: string }> }>('GET', `/api/v1/audit?tenant=${T}&action=send`);
    expect(sent.body.records.map((a) => a.target)).toContain(row.deliveryId);
  });

  it('cuts a long mail to LINE’s limit with a link to the full text on a public page', async () => {
    const paragraph = '常磐地区の避難所は常磐小学校です。持ち物は水、食料、常備薬です。';
    const body = Array.from({ length: 200 }, (_, i) => `${i + 1}. ${paragraph}`).join('\n');
    expect(body.length).toBeGreaterThan(5000);
    expect((await send({ from: `防災課 <${SENDER}>`, subject: '常磐に避難指示 (詳細)', text: body })).ok).toBe(true);
    const row = (await mails())[0]!;
    expect(row).toMatchObject({ outcome: 'sent', places: ['常磐'] });
    expect(row.noticeId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const d = await suite.delivery.waitFinished(T, row.deliveryId, 60_000);
    const message = (d.messages[0] as { text: string }).text;
    expect(message.length).toBeLessThanOrEqual(5000);
    expect(message).toContain(`全文はこちら: http://127.0.0.1:9/notices/${row.noticeId}`);
    expect(d.targets).toBe(2);
    expect(await receipts(residents[3]!)).toContain('常磐に避難指示');

    const page = await fetch(`${suite.url}/notices/${row.noticeId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('200. 常磐地区の避難所は常磐小学校です。');
    expect((await fetch(`${suite.url}/notices/${'x'.repeat(32)}`)).status).toBe(404);
    const tab = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
    await tab.goto(`${suite.url}/notices/${row.noticeId}`);
    const axe = await new AxeBuilder({ page: tab }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => v.id)).toEqual([]);
  });

  it('reads a mail in ISO-2022-JP, as older Japanese systems send it', async () => {
    // JIS bytes of 富田地区に避難指示 / 富田地区に避難指示が出ました。 / すぐに避難してください。
    const jis = (latin1: string) => Buffer.from(latin1, 'latin1');
    const subject = jis('\u001b$BIYEDCO6h$KHrFq;X<(\u001b(B').toString('base64');
    const raw = Buffer.concat([
      Buffer.from(
        `From: bousai@alert.mie.example\r\nTo: ${address}\r\nSubject: =?ISO-2022-JP?B?${subject}?=\r\n` +
          'Message-ID: <jis-1@alert.mie.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n' +
          'Content-Transfer-Encoding: 7bit\r\n\r\n',
      ),
      jis('\u001b$BIYEDCO6h$KHrFq;X<($,=P$^$7$?!#\u001b(B\r\n\u001b$B$9$0$KHrFq$7$F$/$@$5$$!#\u001b(B\r\n'),
    ]);
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: suite.delivery.mail.port,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({ envelope: { from: 'bousai@alert.mie.example', to: address }, raw });
    transport.close();
    const row = (await mails())[0]!;
    expect(row).toMatchObject({ subject: '富田地区に避難指示', outcome: 'sent', places: ['富田地区'] });
    const d = await suite.delivery.waitFinished(T, row.deliveryId, 60_000);
    expect((d.messages[0] as { text: string }).text).toBe(
      '【富田地区に避難指示】\n富田地区に避難指示が出ました。\nすぐに避難してください。',
    );
    expect(await receipts(residents[0]!)).toContain('すぐに避難してください。');
  });

  it('makes only a draft for a rule that is not urgent', async () => {
    expect(
      (await send({ from: 'kisho@alert.mie.example', subject: '大雨警報 発表', text: '四日市市に大雨警報。' })).ok,
    ).toBe(true);
    const row = (await mails())[0]!;
    expect(row).toMatchObject({ outcome: 'draft', ruleName: '気象警報' });
    const d = (await op('GET', `/api/v1/tenants/${T}/deliveries/${row.deliveryId}`)).body;
    expect(d).toMatchObject({ status: 'draft', audience: { type: 'all' }, title: 'メール: 大雨警報 発表' });
    for (const u of residents) expect(await receipts(u)).not.toContain('大雨警報');
  });

  it('refuses unknown senders and addresses, parks mails without a rule or a place, never delivering them', async () => {
    const stranger = await send({ from: 'someone@example.com', subject: '富田地区に避難指示', text: '偽の指示' });
    expect(stranger).toMatchObject({ ok: false, code: 550 });
    const wrong = await send({ to: address.replace(/-[a-z2-7]+@/, '-aaaaaaaaaaaaaaaaaaaa@'), subject: 'x', text: 'x' });
    expect(wrong).toMatchObject({ ok: false, code: 550 });
    expect(
      (await send({ from: 'soumu@alert.mie.example', subject: '庁舎の停電のお知らせ', text: '明日は停電します。' })).ok,
    ).toBe(true);
    expect(
      (
        await send({
          from: 'bousai@alert.mie.example',
          subject: '避難訓練のお知らせ',
          text: '市内全域で訓練を行います。',
        })
      ).ok,
    ).toBe(true);
    const log = await mails();
    expect(log.find((m) => m.sender === 'someone@example.com')).toMatchObject({
      outcome: 'rejected',
      reason: 'unknown_sender',
      deliveryId: '',
    });
    expect(log.find((m) => m.subject === '庁舎の停電のお知らせ')).toMatchObject({
      outcome: 'parked',
      reason: 'no_rule',
      deliveryId: '',
    });
    expect(log.find((m) => m.subject === '避難訓練のお知らせ')).toMatchObject({
      outcome: 'parked',
      reason: 'no_place',
      ruleName: '避難情報',
      deliveryId: '',
    });
    for (const u of residents) {
      const got = await receipts(u);
      expect(got).not.toContain('偽の指示');
      expect(got).not.toContain('停電');
      expect(got).not.toContain('訓練を行います');
    }
  });

  it('refuses a sender past its hourly limit (451), recording the refusal once', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await send({ from: BOMBER, subject: `洪水の見込み ${i}`, text: '情報' }));
    expect(answers.map((a) => (a.ok ? 250 : a.code))).toEqual([250, 250, 250, 451, 451]);
    const mine = (await mails()).filter((m) => m.sender === BOMBER);
    expect(mine.map((m) => m.outcome).sort()).toEqual(['limited', 'parked', 'parked', 'parked']);
  });

  it('refuses a catastrophic pattern in Japanese, and shows the demo rule for 津市', async () => {
    const bad = await op('POST', `/api/v1/tenants/${T}/mail/rules`, {
      name: '危険',
      match: { body: { kind: 'pattern', value: '(a+)+$' } },
      template: '{{body}}',
      audience: { type: 'all' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_mail_rule');
    expect(bad.body.error.message).toContain('繰り返しを含むグループ');
    const demo = (await op('GET', '/api/v1/tenants/24201/mail')).body;
    expect(demo).toMatchObject({ listening: true, enabled: true, allowedSenders: ['bousai@pref.mie.example'] });
    expect(demo.rules.map((r: { name: string }) => r.name)).toEqual(['避難情報 (メールに書かれた地区へ)']);
  });

  it('shows the address, rules and received mails on メールからの配信, adds a rule there, and passes axe', async () => {
    expect(
      (
        await op('POST', '/api/v1/users', {
          username: 'yokkaichi-mail',
          displayName: '四日市市 広報',
          role: 'municipality',
          tenantId: T,
          password: 'municipal-pass-9',
          permissions: ['deliver'],
        })
      ).status,
    ).toBe(201);
    const page = await signedInPage(browser, suite.url, 'yokkaichi-mail', 'municipal-pass-9');
    await page.goto(`${suite.url}/municipalities/${T}/deliveries`);
    await page.click('#mail-link');
    await page.waitForSelector('#mail-address-value');
    expect(await page.textContent('#mail-address-value')).toBe(address);
    expect(await page.locator('#mail-rules h3').allTextContents()).toContain('避難情報 (緊急: すぐに送信)');
    const log = page.locator('#mail-log-table tbody');
    expect(await log.textContent()).toContain('保留 (配信しない) — 合うルールがありません');
    expect(await log.textContent()).toContain('拒否 (差出人が許可されていない)');
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`)).toEqual([]);

    // a rule with a refused pattern: the Japanese reason; then a good one
    const rules = page.locator('#mail-rules');
    await rules.locator('[data-role=rule-name]').fill('停電');
    await rules.locator('[data-role=match-subject]').fill('(停電+)+');
    await rules.locator('select[aria-label="件名の一致のしかた"]').selectOption('pattern');
    await rules.locator('form.new-item button[type=submit]').click();
    await page.waitForFunction(() => document.querySelector('#mail-rules .status')?.textContent?.includes('繰り返し'));
    await rules.locator('[data-role=match-subject]').fill('停電');
    await rules.locator('select[aria-label="件名の一致のしかた"]').selectOption('text');
    await rules.locator('[data-role=audience]').selectOption('test');
    await rules.locator('form.new-item button[type=submit]').click();
    await page.waitForFunction(() =>
      document.querySelector('#mail-rules .status')?.textContent?.includes('ルール「停電」を追加しました。'),
    );
    const saved = (
      await op<{ rules: Array<{ name: string; match: unknown; audience: unknown; urgent: boolean }> }>(
        'GET',
        `/api/v1/tenants/${T}/mail`,
      )
    ).body.rules.find((r) => r.name === '停電');
    expect(saved).toMatchObject({
      match: { subject: { kind: 'text', value: '停電' } },
      audience: { type: 'test' },
      urgent: false,
    });
    await page.click('button[aria-label="ルール「停電」を停止する"]');
    await page.waitForFunction(() =>
      document.querySelector('#mail-rules .status')?.textContent?.includes('ルール「停電」を停止しました。'),
    );
    const stopped = (await op<{ rules: Array<{ name: string; enabled: boolean }> }>('GET', `/api/v1/tenants/${T}/mail`))
      .body.rules;
    expect(stopped.find((r) => r.name === '停電')?.enabled).toBe(false);
    expect(await page.isVisible('button[aria-label="ルール「停電」を使う"]')).toBe(true);
    // changed through the same form: 編集 fills it, 保存 keeps its id and its stopped state
    await page.click('button[aria-label="ルール「停電」を編集"]');
    expect(await rules.locator('[data-role=match-subject]').inputValue()).toBe('停電');
    expect(await page.textContent('#mail-rule-form-h')).toBe('ルール「停電」を編集');
    await rules.locator('[data-role=template]').fill('停電情報: {{subject}}');
    await rules.locator('form.new-item button[type=submit]').click();
    await page.waitForFunction(() =>
      document.querySelector('#mail-rules .status')?.textContent?.includes('ルール「停電」を保存しました。'),
    );
    const edited = (
      await op<{ rules: Array<{ name: string; enabled: boolean; template: string }> }>(
        'GET',
        `/api/v1/tenants/${T}/mail`,
      )
    ).body.rules.filter((r) => r.name === '停電');
    expect(edited).toEqual([expect.objectContaining({ enabled: false, template: '停電情報: {{subject}}' })]);

    // a segment through the composer's builder; a matching mail makes a draft for that segment
    const form = page.locator('#mail-rules form.new-item');
    await form.locator('[data-role=rule-name]').fill('子育て');
    await form.locator('[data-role=match-subject]').fill('子育て');
    await form.locator('[data-role=audience]').selectOption('segment');
    await page.waitForSelector('#mail-segment select[data-role=attr]');
    await page.selectOption('#mail-segment select[data-role=attr] >> nth=0', 'gender');
    await page.check('#mail-segment .seg-cond >> nth=0 >> label:has-text("女性") input');
    await form.locator('button[type=submit]').click();
    await page.waitForFunction(() =>
      document.querySelector('#mail-rules .status')?.textContent?.includes('ルール「子育て」を追加しました。'),
    );
    const kids = (
      await op<{ rules: Array<{ name: string; audience: any }> }>('GET', `/api/v1/tenants/${T}/mail`)
    ).body.rules.find((r) => r.name === '子育て');
    expect(kids?.audience).toMatchObject({
      type: 'segment',
      condition: { attr: 'gender', op: 'in', values: ['female'] },
      label: expect.stringContaining('女性'),
    });
    expect(
      (await send({ from: 'kosodate@alert.mie.example', subject: '子育て相談会のご案内', text: '毎週水曜日です。' }))
        .ok,
    ).toBe(true);
    const row = (await mails())[0]!;
    expect(row).toMatchObject({ outcome: 'draft', ruleName: '子育て' });
    const draft = (await op('GET', `/api/v1/tenants/${T}/deliveries/${row.deliveryId}`)).body;
    expect(draft).toMatchObject({ status: 'draft', audience: { type: 'segment', condition: { attr: 'gender' } } });
  });

  it('takes a mail from `npx tayori mail send`', async () => {
    const args = ['mail', 'send', '--to', address, '--from', 'cli@alert.mie.example', '--subject', '洪水警報 (CLI)'];
    const r = await runCli([...args, '--body', '一行目\\n二行目', '--port', String(suite.delivery.mail.port)], {
      env: testEnv(h.dir),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('送信しました');
    const row = (await mails()).find((m) => m.subject === '洪水警報 (CLI)')!;
    expect(row).toMatchObject({ sender: 'cli@alert.mie.example', outcome: 'draft', ruleName: '気象警報' });
    const d = (await op('GET', `/api/v1/tenants/${T}/deliveries/${row.deliveryId}`)).body;
    expect(d.messages[0].text).toBe('洪水警報 (CLI)\n一行目\n二行目');
    // a refused sender: the CLI says so and fails
    const refused = await runCli(
      [
        'mail',
        'send',
        '--to',
        address,
        '--from',
        'x@example.com',
        '--subject',
        's',
        '--body',
        'b',
        '--port',
        String(suite.delivery.mail.port),
      ],
      { env: testEnv(h.dir) },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('受け付けられませんでした (550)');
  });

  it('answers garbage and oversized mail with SMTP codes and keeps listening', async () => {
    /** One SMTP session by hand: commands, then the message once the server says 354; its whole answer. */
    const session = (from: string, message: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(suite.delivery.mail.port, '127.0.0.1');
        let out = '';
        let sent = false;
        let greeted = false;
        socket.on('data', (d) => {
          out += d.toString('latin1');
          if (!greeted && out.startsWith('220 ')) {
            greeted = true;
            socket.write(`EHLO fuzz\r\nMAIL FROM:<${from}>\r\nRCPT TO:<${address}>\r\nDATA\r\n`);
          }
          if (!sent && out.includes('\r\n354')) {
            sent = true;
            socket.write(Buffer.concat([message, Buffer.from('\r\n.\r\nQUIT\r\n')]));
          }
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(out));
      });
    // random bytes (no lone '.' line), then a message past the size limit
    const noise = Buffer.from(randomBytes(20_000).map((b) => (b === 0x2e || b === 0x0a || b === 0x0d ? 0x41 : b)));
    const garbage = await session('noise@alert.mie.example', noise);
    expect(garbage).toMatch(/\r\n(250|451|550) /);
    const big = Buffer.from(`Subject: big\r\n\r\n${'あ'.repeat(200_000)}`);
    const oversized = await session('big@alert.mie.example', big);
    expect(oversized).toMatch(/\r\n552 /);
    // still here, and still working
    expect(
      (await send({ from: 'after@alert.mie.example', subject: '大雨警報 解除', text: '解除されました。' })).ok,
    ).toBe(true);
    expect((await mails())[0]).toMatchObject({ subject: '大雨警報 解除', outcome: 'draft' });
  });
});
