/** npm run bench -- <name>: prints figures; the last line is one JSON object (see DESIGN.md). */
import { benchIngest } from './ingest.ts';

const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  ingest: benchIngest,
  delivery: async () => (await import('./delivery.ts')).benchDelivery(),
  sandbox: async () => (await import('./sandbox.ts')).benchSandbox(),
  dashboard: async () => (await import('./dashboard.ts')).benchDashboard(),
  reports: async () => (await import('./reports.ts')).benchReports(),
  mileage: async () => (await import('./mileage.ts')).benchMileage(),
  cards: async () => (await import('./cards.ts')).benchCards(),
};

const name = process.argv[2];
if (!name || !benches[name]) {
  console.error(`使い方: npm run bench -- <${Object.keys(benches).join(' | ')}>`);
  process.exit(2);
}
const result = await benches[name]!();
console.log(JSON.stringify(result));
process.exit(0);
