import { AppError } from '../core/errors.ts';
import { BacklogFullError } from '../ingest/index.ts';

/** 503 for rows the event log refused (at its bound, or its disk failed): nothing was kept. */
export function logRefused(err: unknown): AppError {
  const e =
    err instanceof BacklogFullError
      ? new AppError('backlog_full', '記録の保存待ちが上限に達しています。しばらくしてから再度お試しください', 503)
      : new AppError('store_unavailable', '記録を保存できませんでした。しばらくしてから再度お試しください', 503);
  e.cause = err;
  return e;
}
