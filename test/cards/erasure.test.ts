/**
 * Logical erasure: after the tenant id is typed again, the tenant's data key is destroyed; every
 * value sealed with it (copies taken before included) can never be decrypted again, by this process
 * or a fresh one; another tenant's data is untouched; the データ消去証明書 (PDF, 和暦) names what was
 * erased, how, when and the key's fingerprint; a backup made before loses the key too; the erasure
 * is audited (with the ids of the backups it reached).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretBox } from '../../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../../core/data-keys.ts';
import { Backups, readManifest } from '../../ops/backup.ts';
import { residentCall, residentIdToken, sandboxResidents } from '../helpers/resident.ts';
import { type CardsSuite, startCardsSuite } from './cards-suite.ts';

const TSU = '24201';
const YOK = '24202';
let s: CardsSuite;

beforeAll(async () => {
  s = await startCardsSuite('tayori-cards-erase-', { delivery: true });
}, 120_000);
afterAll(() => s?.close());

describe('erase-personal-data', () => {
  it('destroys the key: nothing sealed before can be decrypted; the certificate says so', async () => {
    const [a, b] = await sandboxResidents(s.url, TSU, 2);
    const [y] = await sandboxResidents(s.url, YOK, 1);
    const ta = await residentIdToken(s.url, TSU, a!.userId);
    const ty = await residentIdToken(s.url, YOK, y!.userId);
    const body = (holderName: string) => ({
      holderName,
      relationship: '父',
      kind: 'children',
      children: [{ name: '子', birthDate: '2020-02-02' }],
    });
    expect((await residentCall(s.url, TSU, ta, 'PUT', 'cards/household', body('消去 太郎'))).status).toBe(200);
    expect(
      (
        await residentCall(
          s.url,
          TSU,
          await residentIdToken(s.url, TSU, b!.userId),
          'PUT',
          'cards/household',
          body('消去 次郎'),
        )
      ).status,
    ).toBe(200);
    expect((await residentCall(s.url, YOK, ty, 'PUT', 'cards/household', body('残る 花子'))).status).toBe(200);
    // a push to the holders: delivery's record names them by LINE user id (until the erasure)
    await s.follow(TSU, [a!.userId, b!.userId]);
    const push = await s.op('POST', `/api/v1/cards/tenants/${TSU}/push`, {
      userIds: [a!.userId, b!.userId],
      text: '優待カードのお知らせ',
    });
    expect(push.status, JSON.stringify(push.body)).toBe(200);
    await s.delivery!.waitFinished(TSU, push.body.deliveryId, 30_000);
    const audienceOf = async (id: string) => {
      // every stored version, not only the latest (FINAL): the erasure must reach old parts too
      const rows = await (
        await s.h.ch.query({
          query: 'SELECT audience FROM deliveries WHERE delivery_id = {id:String}',
          query_params: { id },
          format: 'JSONEachRow',
        })
      ).json<{ audience: string }>();
      return rows.map((r) => r.audience);
    };
    const before = await audienceOf(push.body.deliveryId);
    expect(before.length).toBeGreaterThan(1);
    expect(before.every((x) => x.includes(a!.userId))).toBe(true);
    const sealed = [...s.cards.households.stored(TSU)].map((h) => h.sealed);
    expect(sealed).toHaveLength(2);
    const fingerprint = s.cards.keys.fingerprint(TSU)!;
    // a backup made before the erasure holds both tenants' wrapped data keys
    const backupDir = s.h.config.ops.backupDir;
    const made = await new Backups({
      ch: s.h.ch,
      stores: [{ name: 'data-keys', dir: dataKeysDir(s.h.config.dataDir) }],
      backupDir,
    }).create('test');
    const keyIn = (tenant: string) => path.join(backupDir, made.id, 'files', 'data-keys', `${tenant}.json`);
    expect(fs.existsSync(keyIn(TSU)) && fs.existsSync(keyIn(YOK))).toBe(true);

    // a wrong confirmation erases nothing
    const wrong = await s.op('POST', `/api/v1/cards/tenants/${TSU}/erase-personal-data`, { confirm: '24202' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('confirmation_mismatch');
    expect(s.cards.keys.decrypt(TSU, sealed[0]!)).toContain('太郎');

    const r = await s.op('POST', `/api/v1/cards/tenants/${TSU}/erase-personal-data`, { confirm: TSU });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ tenantId: TSU, records: 2, pushes: 1, backups: 1, keyFingerprint: fingerprint });
    // the backup lost this tenant's key only, and its manifest says when
    expect(fs.existsSync(keyIn(TSU))).toBe(false);
    expect(fs.existsSync(keyIn(YOK))).toBe(true);
    expect(readManifest(path.join(backupDir, made.id)).erasures).toEqual([
      { tenantId: TSU, erasedAt: expect.any(String), removed: [`files/data-keys/${TSU}.json`] },
    ]);
    // the push stays in delivery's list with its outcome, without its recipients
    const after = await audienceOf(push.body.deliveryId);
    expect(after).toHaveLength(before.length);
    for (const x of after) expect(JSON.parse(x)).toEqual({ type: 'users', userIds: [], label: 'カード利用者' });
    const listed = await s.op('GET', `/api/v1/tenants/${TSU}/deliveries/${push.body.deliveryId}`);
    expect(listed.body).toMatchObject({ status: 'done', audienceLabel: '指定した住民: カード利用者 (2人)' });

    // nothing can be decrypted: not here, not by a fresh process with the same KEK
    for (const v of sealed)
      expect(() => s.cards.keys.decrypt(TSU, v)).toThrow(expect.objectContaining({ code: 'data_key_destroyed' }));
    const fresh = new DataKeys({
      dir: dataKeysDir(s.h.config.dataDir),
      provider: new SuiteKeyProvider(loadSecretBox(s.h.config)),
    });
    for (const v of sealed)
      expect(() => fresh.decrypt(TSU, v)).toThrow(expect.objectContaining({ code: 'data_key_destroyed' }));
    expect(fs.readdirSync(dataKeysDir(s.h.config.dataDir))).not.toContain(`${TSU}.json`);
    expect([...s.cards.households.stored(TSU)]).toHaveLength(0);
    expect((await residentCall(s.url, TSU, ta, 'GET', 'cards/card')).body.registered).toBe(false);
    // another tenant keeps its data
    expect((await residentCall(s.url, YOK, ty, 'GET', 'cards/card')).body.household.holderName).toBe('残る 花子');

    // the certificate (PDF, 和暦)
    const pdf = Buffer.from(r.body.certificate, 'base64');
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = path.join(s.h.dir, 'certificate.pdf');
    fs.writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, '');
    expect(text).toContain('データ消去証明書');
    expect(text).toContain('津市(24201)');
    expect(text).toContain('2件');
    expect(text).toMatch(/消去日時令和\d+年\d+月\d+日/);
    expect(text).toContain(fingerprint);
    expect(text).toContain('論理的消去');
    expect(text).toContain('カード利用者へのお知らせ1件の宛先(LINEユーザーID)');
    expect(text).toContain('このサーバーのバックアップ1件から');

    const audit = await s.op('GET', `/api/v1/audit?tenant=${TSU}&action=personal_data_erased`);
    const rec = audit.body.records[0];
    expect(typeof rec.detail === 'string' ? JSON.parse(rec.detail) : rec.detail).toMatchObject({
      records: 2,
      pushes: 1,
      backups: 1,
      backupIds: [made.id],
      keyFingerprint: fingerprint,
    });

    // the tenant can start again with a new key (the old values stay unreadable)
    expect((await residentCall(s.url, TSU, ta, 'PUT', 'cards/household', body('新規 太郎'))).status).toBe(200);
    expect(s.cards.keys.fingerprint(TSU)).not.toBe(fingerprint);
    for (const v of sealed) expect(() => s.cards.keys.decrypt(TSU, v)).toThrow();
  }, 60_000);

  it('a staff account other than an admin may not erase', async () => {
    const u = await s.op('POST', '/api/v1/users', {
      username: 'pref-eraser',
      role: 'prefecture',
      password: 'correct horse battery 42',
      permissions: ['card_holders'],
    });
    expect(u.status).toBe(201);
    const t = await s.op('POST', '/api/v1/users/pref-eraser/tokens', { label: 't' });
    const res = await fetch(`${s.url}/api/v1/cards/tenants/${YOK}/erase-personal-data`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.body.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ confirm: YOK }),
    });
    expect(res.status).toBe(403);
    expect(s.cards.keys.fingerprint(YOK)).toBeTruthy();
  });
});
