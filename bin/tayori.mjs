#!/usr/bin/env -S node --initial-old-space-size=256
// Entry point of `npx tayori …` and the npm scripts: TypeScript runs through tsx, no build step.
// The heap flag on the first line is core/heap.ts's HEAP_FLAG (`serve` and `demo` warn without one).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
