import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSecretBox, parseSecretKey, SecretBox } from '../../core/crypto.ts';
import { testConfig, tmpDir } from '../helpers/index.ts';

const tmp = tmpDir();
afterAll(() => tmp.remove());

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.encrypt('チャネルシークレット-abc', 'tenant:24201:channel_secret');
    expect(sealed.startsWith('v1:')).toBe(true);
    expect(sealed).not.toContain('abc');
    expect(box.decrypt(sealed, 'tenant:24201:channel_secret')).toBe('チャネルシークレット-abc');
    expect(box.encrypt('same', 'c')).not.toBe(box.encrypt('same', 'c'));
  });

  it('refuses a tampered ciphertext', () => {
    const sealed = box.encrypt('secret', 'ctx');
    const raw = Buffer.from(sealed.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.decrypt(`v1:${raw.toString('base64')}`, 'ctx')).toThrow(/改ざん/);
  });

  it('refuses a value moved to another context, or opened with another key', () => {
    const sealed = box.encrypt('secret', 'tenant:24201:channel_secret');
    expect(() => box.decrypt(sealed, 'tenant:24202:channel_secret')).toThrow(/復号できません/);
    expect(() => new SecretBox(randomBytes(32)).decrypt(sealed, 'tenant:24201:channel_secret')).toThrow(
      /復号できません/,
    );
    expect(() => box.decrypt('plain', 'ctx')).toThrow(/形式が不正/);
  });

  it('parses hex and base64 keys and rejects anything else', () => {
    const k = randomBytes(32);
    expect(parseSecretKey(k.toString('hex'), 'X').equals(k)).toBe(true);
    expect(parseSecretKey(k.toString('base64'), 'X').equals(k)).toBe(true);
    expect(() => parseSecretKey('short', 'TAYORI_SECRET_KEY')).toThrow(/TAYORI_SECRET_KEY/);
    expect(() => parseSecretKey(randomBytes(16).toString('base64'), 'TAYORI_SECRET_KEY')).toThrow(/32 バイト/);
  });

  it('creates the key file with mode 0600 only when asked to', () => {
    const config = testConfig(path.join(tmp.dir, 'd1'));
    expect(() => loadSecretBox(config)).toThrow(/暗号鍵がありません/);
    const a = loadSecretBox(config, { create: true });
    const file = path.join(tmp.dir, 'd1', 'secret.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const b = loadSecretBox(config);
    expect(b.decrypt(a.encrypt('x', 'c'), 'c')).toBe('x');
  });

  it('takes the key from TAYORI_SECRET_KEY when set', () => {
    const key = randomBytes(32).toString('base64');
    const box1 = loadSecretBox(testConfig(path.join(tmp.dir, 'd2'), { TAYORI_SECRET_KEY: key }));
    const box2 = new SecretBox(Buffer.from(key, 'base64'));
    expect(box2.decrypt(box1.encrypt('y', 'c'), 'c')).toBe('y');
    expect(fs.existsSync(path.join(tmp.dir, 'd2', 'secret.key'))).toBe(false);
  });
});
