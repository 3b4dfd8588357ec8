import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserBundle } from '../../core/browser-bundle.ts';
import { tmpDir } from '../helpers/index.ts';

describe('browser bundles', () => {
  it('bundles a TypeScript entry and what it imports into one classic script, once per process', () => {
    const tmp = tmpDir();
    try {
      fs.writeFileSync(
        path.join(tmp.dir, 'lib.ts'),
        "export const greet = (n: string): string => 'こんにちは ' + n;\n",
      );
      const entry = path.join(tmp.dir, 'page.ts');
      fs.writeFileSync(
        entry,
        "import { greet } from './lib.ts';\n(globalThis as { out?: string }).out = greet('津市');\n",
      );
      const js = browserBundle(entry).toString('utf8');
      expect(js).not.toMatch(/\bimport\b|\bexport\b|: string/);
      const scope: { out?: string } = {};
      new Function('globalThis', js)(scope);
      expect(scope.out).toBe('こんにちは 津市');
      expect(browserBundle(entry)).toBe(browserBundle(entry));
    } finally {
      tmp.remove();
    }
  });

  it('the shared kit bundles', () => {
    const js = browserBundle(path.resolve('core/browser/kit.ts')).toString('utf8');
    expect(js.length).toBeGreaterThan(1000);
  });
});
