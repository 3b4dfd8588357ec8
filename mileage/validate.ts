import type { z } from '../core/zod.ts';

/** Parses input at the boundary: a ZodError becomes 400 invalid_input with Japanese messages (core/http.ts). */
export function parseInput<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return schema.parse(body ?? {});
}
