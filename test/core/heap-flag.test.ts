import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HEAP_FLAG, heapSizeConfigured } from '../../core/heap.ts';
import { repoRoot } from '../helpers/index.ts';

describe('the heap flag Tayori runs with', () => {
  it('is on every entry point: bin/tayori.mjs (npx tayori) and the npm scripts that start Tayori', () => {
    const [shebang] = fs.readFileSync(path.join(repoRoot, 'bin/tayori.mjs'), 'utf8').split('\n');
    expect(shebang).toBe(`#!/usr/bin/env -S node ${HEAP_FLAG}`);
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    for (const name of ['demo', 'tayori', 'bench'])
      expect(scripts[name], name).toContain(`node ${name === 'bench' ? '--expose-gc ' : ''}${HEAP_FLAG} `);
  });

  it("is recognised in a process's arguments", () => {
    expect(heapSizeConfigured([HEAP_FLAG])).toBe(true);
    expect(heapSizeConfigured(['--expose-gc', '--initial_old_space_size=512'])).toBe(true);
    expect(heapSizeConfigured(['--max-old-space-size=4096'])).toBe(false);
    expect(heapSizeConfigured([])).toBe(false);
  });

  it('lets bin/tayori.mjs run as a program (its first line is read by env -S)', async () => {
    const { stdout } = await promisify(execFile)(path.join(repoRoot, 'bin/tayori.mjs'), ['--help'], { cwd: repoRoot });
    expect(stdout).toMatch(/serve/);
  });
});
