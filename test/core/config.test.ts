import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.ts';

describe('configuration from the environment', () => {
  it('has working defaults', () => {
    const c = loadConfig({}, '/srv/tayori');
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe('/srv/tayori/data');
    expect(c.clickhouse).toEqual({ kind: 'embedded', path: '/srv/tayori/data/clickhouse' });
    expect(c.redis).toMatchObject({ kind: 'local', dir: '/srv/tayori/data/redis' });
    expect(c.secretKey).toEqual({ kind: 'file', path: path.join('/srv/tayori/data', 'secret.key') });
  });

  it('points the same client at a server with CLICKHOUSE_URL', () => {
    const c = loadConfig({
      CLICKHOUSE_URL: 'http://ch:8123',
      CLICKHOUSE_USER: 'u',
      CLICKHOUSE_PASSWORD: 'p',
      CLICKHOUSE_DATABASE: 'tayori',
    });
    expect(c.clickhouse).toEqual({
      kind: 'server',
      url: 'http://ch:8123',
      user: 'u',
      password: 'p',
      database: 'tayori',
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['CLICKHOUSE_URL', 'not a url'],
    ['REDIS_URL', 'nope'],
    ['LOG_LEVEL', 'loud'],
    ['CLICKHOUSE_DATABASE', 'bad-name;'],
    ['TAYORI_SANDBOX', 'maybe'],
  ])('a bad %s stops with one line naming it', (variable, value) => {
    let err: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(variable);
    expect(msg).toContain(value);
    expect(msg.split('\n')).toHaveLength(1);
  });
});
