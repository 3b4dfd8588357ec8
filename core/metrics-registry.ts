/**
 * The suite's one Prometheus registry (prom-client): every folder registers its counters, gauges and
 * histograms here; ops/ serves it at /metrics behind a token. Instruments are made once per process
 * (a second call with the same name returns the first), so a test that starts two suites shares them.
 * On hot paths keep a bound child (`counter.labels(...)` once) and call `inc()` on it.
 */
import client, { type Counter, type Gauge, type Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
let processMetrics = false;

/** Node's process metrics (CPU, memory, event-loop lag, handles), once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  client.collectDefaultMetrics({ register: metricsRegistry, prefix: 'tayori_' });
}

function existing<T>(name: string): T | undefined {
  return metricsRegistry.getSingleMetric(name) as T | undefined;
}

export function counter<L extends string = string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  return (
    existing<Counter<L>>(name) ??
    new client.Counter<L>({ name, help, labelNames: [...labelNames], registers: [metricsRegistry] })
  );
}

export function gauge<L extends string = string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  collect?: (this: Gauge<L>) => void | Promise<void>,
): Gauge<L> {
  const found = existing<Gauge<L>>(name);
  if (found) return found;
  return new client.Gauge<L>({
    name,
    help,
    labelNames: [...labelNames],
    registers: [metricsRegistry],
    ...(collect ? { collect } : {}),
  });
}

export function histogram<L extends string = string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
): Histogram<L> {
  return (
    existing<Histogram<L>>(name) ??
    new client.Histogram<L>({ name, help, labelNames: [...labelNames], buckets, registers: [metricsRegistry] })
  );
}

/**
 * A gauge read when scraped from the current value of a source that may change between suites in one
 * process (tests): the latest registered reader wins.
 */
const readers = new Map<string, () => number | Promise<number> | Map<string, number>>();
export function sampledGauge(name: string, help: string, read: () => number | Promise<number>): void {
  readers.set(name, read);
  gauge(name, help, [], async function () {
    const r = readers.get(name);
    if (!r) return;
    try {
      this.set(Number(await r()));
    } catch {
      /* a source that cannot answer leaves the last value */
    }
  });
}

/** The text Prometheus scrapes. */
export function metricsText(): Promise<string> {
  return metricsRegistry.metrics();
}

export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;
