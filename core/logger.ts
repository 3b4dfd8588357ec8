import { pino, type Logger } from 'pino';

/** Paths that may hold secrets; pino replaces their values before anything is written. */
const redact = [
  'channelSecret',
  '*.channelSecret',
  'channelAccessToken',
  '*.channelAccessToken',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-line-signature"]',
];

export function createLogger(level = 'info', name = 'tayori'): Logger {
  return pino({ name, level, redact: { paths: redact, censor: '[秘匿]' } });
}

export type { Logger };
