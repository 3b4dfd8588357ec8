import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { messagingApi } from '@line/bot-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, testEnv, migratedTmpDir, waitFor } from '../helpers/index.ts';

const tmp = migratedTmpDir();
afterAll(() => tmp.remove());

describe('npx tayori sandbox --port P --config FILE', () => {
  it('serves the configured channels until Ctrl-C', async () => {
    const file = path.join(tmp.dir, 'sandbox.json');
    const bot = `U${'4'.repeat(32)}`;
    fs.writeFileSync(
      file,
      JSON.stringify({
        channels: [
          {
            channelId: '1234567890',
            botUserId: bot,
            channelSecret: 's'.repeat(32),
            channelAccessToken: 'cli-token',
            residents: { count: 100, seed: 7 },
          },
        ],
      }),
    );
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin/tayori.mjs'), 'sandbox', '--port', '0', '--config', file],
      { env: testEnv(tmp.dir), cwd: repoRoot },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const url = await waitFor(async () => /起動しました: (http:\/\/\S+)/.exec(out)?.[1], 60_000, 'the sandbox URL');
      const client = new messagingApi.MessagingApiClient({ channelAccessToken: 'cli-token', baseURL: url });
      expect((await client.getBotInfo()).userId).toBe(bot);
      const ids = await client.getFollowers(undefined, 1000);
      expect(ids.userIds.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
  });

  it('names the file and the field of a bad config', async () => {
    const file = path.join(tmp.dir, 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        channels: [{ channelId: '1', botUserId: 'nope', channelSecret: 's', channelAccessToken: 't' }],
      }),
    );
    const r = await runCli(['sandbox', '--config', file], { env: testEnv(tmp.dir) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.json');
    expect(r.stderr).toContain('botUserId');
    const missing = await runCli(['sandbox', '--config', path.join(tmp.dir, 'none.json')], { env: testEnv(tmp.dir) });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('none.json');
  });
});
