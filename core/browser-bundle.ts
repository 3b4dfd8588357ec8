/**
 * Browser code is TypeScript (`<folder>/browser/*.ts`, checked by tsconfig.browser.json with the DOM
 * library) bundled by esbuild into one script per page when the suite starts, so no build step or
 * built file is kept in the tree. Each entry is bundled once per process (a few tens of ms).
 */
import { buildSync } from 'esbuild';

const bundles = new Map<string, Buffer>();

/** The bundle of a TypeScript entry file (absolute path): an IIFE for a classic <script>, ES2020. */
export function browserBundle(entry: string): Buffer {
  let out = bundles.get(entry);
  if (!out) {
    const r = buildSync({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2020',
      charset: 'utf8',
      legalComments: 'none',
      logLevel: 'silent',
    });
    out = Buffer.from(r.outputFiles[0]!.contents);
    bundles.set(entry, out);
  }
  return out;
}
