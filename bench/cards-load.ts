/**
 * Load generator of the cards bench, in its own process: autocannon GETs a URL, each request with
 * the next ID token of a pool (argv: <url> <seconds> <connections> <tokens.json>); prints one JSON
 * line of figures (LoadResult, with its own CPU per request).
 */
import fs from 'node:fs';
import autocannonModule from 'autocannon';
import { type AutocannonResult, loadFigures } from './load-result.ts';

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = autocannonModule as unknown as Autocannon;
const [url, seconds, connections, file] = process.argv.slice(2);
const tokens = JSON.parse(fs.readFileSync(file!, 'utf8')) as string[];
let i = 0;
const statuses: Record<string, number> = {};

const cpu0 = process.cpuUsage();
const result = await autocannon({
  url,
  method: 'GET',
  duration: Number(seconds),
  connections: Number(connections),
  pipelining: 1,
  requests: [
    {
      setupRequest(req: Record<string, unknown>) {
        const token = tokens[i++ % tokens.length]!;
        return { ...req, method: 'GET', headers: { authorization: `Bearer ${token}` } };
      },
    },
  ],
});

const cpu = process.cpuUsage(cpu0);
for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = count;
console.log(
  JSON.stringify({ ...loadFigures(result, i, statuses), loader_cpu_us: (cpu.user + cpu.system) / Math.max(1, i) }),
);
