import { describe, expect, it } from 'vitest';
import { deliveryRatesOptions } from '../../metrics/index.ts';
import { chartPng } from '../../reports/index.ts';

// Report charts: the dashboard's chart options rendered on the server to PNG in a Japanese font.
describe('report charts', () => {
  it('renders a dashboard chart to a PNG of non-trivial size', async () => {
    const d = (title: string, openRate: number | null, clickRate: number | null) => ({
      tenantId: '24201',
      kind: 'broadcast',
      key: title,
      title,
      sentAt: '2026-04-10T01:00:00.000Z',
      hasStats: true,
      delivered: 1000,
      uniqueImpressions: null,
      clicks: null,
      openRate,
      clickRate,
      missing: {},
    });
    const png = await chartPng(
      deliveryRatesOptions([d('健康ポイントのお知らせ', 0.52, 0.081), d('防災訓練', 0.4, null)]),
      { width: 800, height: 400 },
    );
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(800);
    expect(png.readUInt32BE(20)).toBe(400);
    expect(png.length).toBeGreaterThan(5000);
  });
});
