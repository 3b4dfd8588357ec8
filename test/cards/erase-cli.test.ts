/**
 * `npx tayori tenants erase-personal-data` as an operator runs it with no suite on the data
 * directory: a wrong typed confirmation erases nothing; the right one destroys the data key, writes
 * the certificate and prints the key's fingerprint; nothing sealed before decrypts afterwards — not
 * even from a backup made before the erasure: the key is taken out of the backups on this server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CardStore, cardsStoreDir, Households } from '../../cards/index.ts';
import { SecretBox } from '../../core/crypto.ts';
import { DataKeys, dataKeysDir, SuiteKeyProvider } from '../../core/data-keys.ts';
import { runCli, testEnv, migratedTmpDir } from '../helpers/index.ts';

const tmp = migratedTmpDir();
const env = testEnv(tmp.dir);
afterAll(() => tmp.remove());
const KEY = Buffer.alloc(32, 9);

describe('npx tayori tenants erase-personal-data', () => {
  it('asks for the tenant id again, then destroys the key and writes the certificate', async () => {
    fs.mkdirSync(tmp.dir, { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, 'secret.key'), KEY.toString('base64'), { mode: 0o600 });
    expect(
      (await runCli(['tenants', 'add', '--id', '11000', '--name', '埼玉県', '--kind', 'prefecture'], { env })).code,
    ).toBe(0);

    const keys = new DataKeys({ dir: dataKeysDir(tmp.dir), provider: new SuiteKeyProvider(new SecretBox(KEY)) });
    const store = new CardStore(cardsStoreDir(tmp.dir));
    const households = new Households(store, keys);
    await households.save(
      '11000',
      `U${'a'.repeat(32)}`,
      {
        holderName: '消去 花子',
        relationship: '母',
        kind: 'pregnant',
        children: [],
      },
      '2026-01-01',
    );
    const sealed = [...households.stored('11000')].map((h) => h.sealed);
    const fingerprint = keys.fingerprint('11000')!;
    await store.close();

    // a backup made before the erasure holds the tenant's wrapped data key
    const made = await runCli(['backup', 'create'], { env, timeoutMs: 120_000 });
    expect(made.code, made.stderr).toBe(0);
    const backupDir = path.join(tmp.dir, 'backups');
    const [backup] = fs.readdirSync(backupDir).filter((n) => /^\d{8}T\d{6}Z$/.test(n));
    const keyInBackup = path.join(backupDir, backup!, 'files', 'data-keys', '11000.json');
    expect(fs.existsSync(keyInBackup)).toBe(true);
    const fromBackup = (dir: string) => new DataKeys({ dir, provider: new SuiteKeyProvider(new SecretBox(KEY)) });
    expect(fromBackup(path.dirname(keyInBackup)).decrypt('11000', sealed[0]!)).toContain('消去 花子');

    const wrong = await runCli(['tenants', 'erase-personal-data', '--id', '11000'], { env, input: '11001\n' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('一致しない');
    expect(keys.decrypt('11000', sealed[0]!)).toContain('消去 花子');

    const out = path.join(tmp.dir, 'cert.pdf');
    const r = await runCli(['tenants', 'erase-personal-data', '--id', '11000', '--out', out], {
      env,
      input: '11000\n',
      timeoutMs: 120_000,
    });
    expect(r.stderr).toContain('テナント ID「11000」を入力してください');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 件を消去しました');
    expect(r.stdout).toContain(fingerprint);
    expect(fs.readFileSync(out).subarray(0, 5).toString()).toBe('%PDF-');

    const after = new DataKeys({ dir: dataKeysDir(tmp.dir), provider: new SuiteKeyProvider(new SecretBox(KEY)) });
    expect(() => after.decrypt('11000', sealed[0]!)).toThrow(expect.objectContaining({ code: 'data_key_destroyed' }));

    // the backup lost the key (its manifest says so and still verifies): restored, nothing decrypts
    expect(r.stdout).toContain('バックアップ 1 件からデータ鍵を削除しました');
    expect(fs.existsSync(keyInBackup)).toBe(false);
    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, backup!, 'manifest.json'), 'utf8'));
    expect(manifest.erasures).toEqual([
      { tenantId: '11000', erasedAt: expect.any(String), removed: ['files/data-keys/11000.json'] },
    ]);
    expect(manifest.files.some((f: { path: string }) => f.path.includes('data-keys/11000'))).toBe(false);
    const verified = await runCli(['backup', 'verify', backup!], { env });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const restoredDir = path.join(tmp.dir, 'restored-keys');
    fs.cpSync(path.join(backupDir, backup!, 'files', 'data-keys'), restoredDir, { recursive: true });
    expect(() => fromBackup(restoredDir).decrypt('11000', sealed[0]!)).toThrow(
      expect.objectContaining({ code: 'data_key_destroyed' }),
    );
  }, 240_000);
});
