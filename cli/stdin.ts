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
