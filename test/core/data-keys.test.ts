import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretBox } from '../../core/crypto.ts';
import { DataKeys, SuiteKeyProvider } from '../../core/data-keys.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'data-keys-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('DataKeys', () => {
  const box = new SecretBox(randomBytes(32));

  it('seals per tenant with a random IV; the key file holds the key only wrapped', () => {
    const dir = tmp();
    const keys = new DataKeys({ dir, provider: new SuiteKeyProvider(box) });
    const a = keys.encrypt('24201', '山田 花子');
    expect(a).not.toBe(keys.encrypt('24201', '山田 花子'));
    expect(keys.decrypt('24201', a)).toBe('山田 花子');
    expect(Buffer.from(a, 'base64').toString('utf8')).not.toContain('山田');
    // another tenant's key (and AAD) does not open it
    keys.encrypt('24202', 'x');
    expect(() => keys.decrypt('24202', a)).toThrow();
    const file = JSON.parse(fs.readFileSync(path.join(dir, '24201.json'), 'utf8'));
    expect(file.fingerprint).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{8}){3}$/);
    expect((fs.statSync(path.join(dir, '24201.json')).mode & 0o777).toString(8)).toBe('600');
    // a second process (same KEK) reads the same key; a different KEK cannot unwrap it
    expect(new DataKeys({ dir, provider: new SuiteKeyProvider(box) }).decrypt('24201', a)).toBe('山田 花子');
    const other = new DataKeys({ dir, provider: new SuiteKeyProvider(new SecretBox(randomBytes(32))) });
    expect(() => other.decrypt('24201', a)).toThrow(/鍵暗号化鍵/);
  });

  it('a tampered value is refused', () => {
    const keys = new DataKeys({ dir: tmp(), provider: new SuiteKeyProvider(box) });
    const raw = Buffer.from(keys.encrypt('24201', 'abc'), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => keys.decrypt('24201', raw.toString('base64'))).toThrow(/復号できません/);
  });

  it('destroying the key makes every sealed value unreadable for good, also for a new key', () => {
    const dir = tmp();
    const keys = new DataKeys({ dir, provider: new SuiteKeyProvider(box) });
    const sealed = keys.encrypt('24201', '秘密');
    const fp = keys.fingerprint('24201');
    const d = keys.destroy('24201');
    expect(d.fingerprint).toBe(fp);
    expect(fs.existsSync(path.join(dir, '24201.json'))).toBe(false);
    expect(() => keys.decrypt('24201', sealed)).toThrow(expect.objectContaining({ code: 'data_key_destroyed' }));
    // a fresh process, and a new key made afterwards, cannot open it either
    const again = new DataKeys({ dir, provider: new SuiteKeyProvider(box) });
    expect(again.decrypt('24201', again.encrypt('24201', 'new'))).toBe('new');
    expect(again.fingerprint('24201')).not.toBe(fp);
    expect(() => again.decrypt('24201', sealed)).toThrow(expect.objectContaining({ code: 'data_key_destroyed' }));
  });
});
