import { AppError } from '../core/errors.ts';

/** Reads all of standard input (secrets come this way, never through argv). */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write(
      'チャネルシークレットとチャネルアクセストークンを 1 行ずつ入力し、Ctrl-D で終了してください:\n',
    );
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A secret's one line from standard input (never argv, never echoed): `prompt` on a terminal,
 * `missing` (a 400 password_missing) when nothing came.
 */
export async function readSecretLine(prompt: string, missing: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${prompt}\n`);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (!line) throw new AppError('password_missing', missing, 400);
  return line;
}
