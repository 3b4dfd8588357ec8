/**
 * The crowd of `npm run bench -- mileage`, in a process of its own (as phones are apart from the
 * server): reads {port, tenantId, code, tokens, spreadMs, connections} as JSON on stdin, spreads the
 * residents' arrivals evenly over spreadMs, each resident scanning twice at once (a double tap)
 * over a keep-alive pool, and writes {calls: [{ms, status, awarded}], elapsedMs, cpuMs} as JSON.
 */
import http from 'node:http';

interface Input {
  port: number;
  tenantId: string;
  code: string;
  tokens: string[];
  spreadMs: number;
  connections: number;
}
interface Call {
  ms: number;
  status: number;
  awarded: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const input = JSON.parse(await readStdin()) as Input;
const agent = new http.Agent({ keepAlive: true, maxSockets: input.connections });
const body = JSON.stringify({ code: input.code });

const scan = (idToken: string) =>
  new Promise<Call>((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port: input.port,
        method: 'POST',
        path: `/liff-api/${input.tenantId}/mileage/scan`,
        agent,
        headers: {
          authorization: `Bearer ${idToken}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const text = Buffer.concat(chunks).toString('utf8');
          let awarded = false;
          try {
            awarded = (JSON.parse(text) as { awarded?: boolean }).awarded === true;
          } catch {
            /* counted by its status */
          }
          if (res.statusCode !== 200) process.stderr.write(`HTTP ${res.statusCode}: ${text.slice(0, 200)}\n`);
          resolve({ ms, status: res.statusCode ?? 0, awarded });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const cpu0 = process.cpuUsage();
const started = performance.now();
const calls = (
  await Promise.all(
    input.tokens.map(
      (idToken, i) =>
        new Promise<Call[]>((resolve, reject) => {
          setTimeout(
            () => Promise.all([scan(idToken), scan(idToken)]).then(resolve, reject),
            (i / input.tokens.length) * input.spreadMs,
          );
        }),
    ),
  )
).flat();
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
agent.destroy();
process.stdout.write(JSON.stringify({ calls, elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000 }));
