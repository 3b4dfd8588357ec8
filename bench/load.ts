/**
 * Load generator for the benchmarks, run as its own process (so it does not share the server's
 * event loop): autocannon with a pool of pre-signed webhook bodies, cycled request by request.
 * argv: <url> <seconds> <connections> <bodies.json> [acked.json]; prints one JSON line of figures and,
 * given acked.json, writes there the pool indexes of the bodies answered 2xx (what was acknowledged).
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
const [url, seconds, connections, file, ackFile] = process.argv.slice(2);
const pool = JSON.parse(fs.readFileSync(file!, 'utf8')) as Prepared[];
let i = 0;
const acked = new Set<number>();
const statuses: Record<string, number> = {};

const cpu0 = process.cpuUsage();
const result = await autocannon({
  url,
  method: 'POST',
  duration: Number(seconds),
  connections: Number(connections),
  pipelining: 1,
  requests: [
    {
      setupRequest(req: Record<string, unknown>, context: Record<string, unknown>) {
        const idx = i++ % pool.length;
        context.idx = idx;
        const p = pool[idx]!;
        return {
          ...req,
          method: 'POST',
          body: p.body,
          headers: { 'content-type': 'application/json', 'x-line-signature': p.signature },
        };
      },
      onResponse(status: number, _body: string, context: Record<string, unknown>) {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) acked.add(context.idx as number);
      },
    },
  ],
});

if (ackFile) fs.writeFileSync(ackFile, JSON.stringify([...acked]));

const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({ ...loadFigures(result, i, statuses), loader_cpu_us: (cpu.user + cpu.system) / Math.max(1, i) }),
);
