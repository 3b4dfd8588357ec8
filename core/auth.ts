import { AppError } from './errors.ts';
import { bearerMatches, type FastifyRequest } from './http.ts';

/**
 * Who may call the API. For now: operator tokens (the local suite token the CLI reads from the
 * data directory). Staff sign-in and roles build on this.
 */
export interface Authenticator {
  require(req: FastifyRequest): void;
}

export function operatorTokenAuth(tokens: readonly string[]): Authenticator {
  return {
    require(req) {
      if (!bearerMatches(req.headers.authorization, tokens)) {
        throw new AppError('unauthorized', '認証が必要です (Authorization: Bearer <トークン>)', 401);
      }
    },
  };
}
