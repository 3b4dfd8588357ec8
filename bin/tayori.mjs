#!/usr/bin/env node
// Entry point of `npx tayori …` and the npm scripts: TypeScript runs through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
