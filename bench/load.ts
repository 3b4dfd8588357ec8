/**
 * Load generator for the benchmarks, run as its own process (so it does not share the server's
 * event loop): autocannon with a pool of pre-signed webhook bodies, cycled request by request.
 * argv: <url> <seconds> <connections> <bodies.json>; prints one JSON line of figures.
 */
import fs from 'node:fs';
import autocannonModule from 'autocannon';

interface Prepared {
  body: string;
  signature: string;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<{
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  '2xx': number;
}>;

const autocannon = autocannonModule as unknown as Autocannon;
const [url, seconds, connections, file] = process.argv.slice(2);
const pool = JSON.parse(fs.readFileSync(file!, 'utf8')) as Prepared[];
let i = 0;

const result = await autocannon({
  url,
  method: 'POST',
  duration: Number(seconds),
  connections: Number(connections),
  pipelining: 1,
  requests: [
    {
      setupRequest(req: Record<string, unknown>) {
        const p = pool[i++ % pool.length]!;
        return { ...req, method: 'POST', body: p.body, headers: { 'content-type': 'application/json', 'x-line-signature': p.signature } };
      },
    },
  ],
});

console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    sent: i,
  }),
);
