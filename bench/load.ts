/**
 * Load generator for the benchmarks, run as its own process (so it does not share the server's
 * event loop): autocannon with a pool of pre-signed webhook bodies, cycled request by request.
 * argv: <url> <seconds> <connections> <bodies.json>; prints one JSON line of figures.
 */
import fs from 'node:fs';
import autocannonModule from 'autocannon';
import { loadFigures, type AutocannonResult } from './load-result.ts';

interface Prepared {
  body: string;
  signature: string;
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

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
        return {
          ...req,
          method: 'POST',
          body: p.body,
          headers: { 'content-type': 'application/json', 'x-line-signature': p.signature },
        };
      },
    },
  ],
});

console.log(JSON.stringify(loadFigures(result, i)));
