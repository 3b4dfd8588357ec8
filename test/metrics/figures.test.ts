import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import {
  FIGURES,
  MISSING_REASONS,
  aggregateDeliveries,
  blockRate,
  deliveryRatesOptions,
  followsVsBlocksOptions,
  formatChange,
  formatCount,
  formatPercent,
  friendsChartOptions,
  openRate,
  renderChartSvg,
} from '../../metrics/index.ts';
import { toCsv, xlsxWorkbook } from '../../dashboard/index.ts';
import { addMonths, formatWarekiMonth as warekiMonth, monthBounds } from '../../core/time.ts';

describe('figure definitions', () => {
  it('open rate = unique impressions ÷ delivered; block rate = blocks ÷ friends; unknown stays null', () => {
    expect(openRate({ uniqueImpressions: 600, delivered: 1000 })).toBe(0.6);
    expect(openRate({ uniqueImpressions: null, delivered: 1000 })).toBeNull();
    expect(openRate({ uniqueImpressions: 0, delivered: 0 })).toBeNull();
    expect(blockRate({ blocks: 66, friends: 1200 })).toBe(0.055);
    expect(blockRate({ blocks: null, friends: 1200 })).toBeNull();
    expect(FIGURES.openRate.definition).toContain('開封人数 ÷ 配信人数');
    expect(MISSING_REASONS.privacy).toContain('20 人未満');
  });

  it('shows unknown as "—", never 0', () => {
    expect([formatCount(null), formatPercent(null), formatChange(null)]).toEqual(['—', '—', '—']);
    expect([formatCount(12345), formatPercent(0.0551), formatChange(-56), formatChange(0), formatChange(3)]).toEqual([
      '12,345',
      '5.5%',
      '−56',
      '±0',
      '+3',
    ]);
  });

  it("a period's open rate counts only deliveries where both parts are known", () => {
    const d = (delivered: number | null, uniqueImpressions: number | null) => ({
      tenantId: '24201',
      kind: 'request_id',
      key: 'k',
      title: '',
      sentAt: '',
      hasStats: true,
      delivered,
      uniqueImpressions,
      clicks: null,
      openRate: openRate({ delivered, uniqueImpressions }),
      clickRate: null,
      missing:
        uniqueImpressions === null ? { uniqueImpressions: 'privacy' as const, openRate: 'privacy' as const } : {},
    });
    const agg = aggregateDeliveries([d(1000, 600), d(15, null)]);
    expect(agg).toMatchObject({ delivered: 1015, uniqueImpressions: 600, openRate: 0.6, clicks: null });
    expect(aggregateDeliveries([d(15, null)])).toMatchObject({ openRate: null, missing: { openRate: 'privacy' } });
    expect(aggregateDeliveries([]).missing.openRate).toBe('no_deliveries');
  });

  it('months in Asia/Tokyo and 和暦', () => {
    expect(monthBounds('2024-02')).toEqual({ from: '2024-02-01', to: '2024-02-29' });
    expect(addMonths('2025-01', -1)).toBe('2024-12');
    expect(warekiMonth('2025-04')).toBe('令和7年4月');
  });
});

describe('downloads', () => {
  it('CSV (the one writer) quotes, neutralises formulas, keeps numbers, starts with a BOM', () => {
    expect(
      toCsv(
        [
          ['市町', '備考'],
          ['津市', 'a,"b"'],
          ['x', null],
          ["=cmd|' /C calc'!A0", -3],
        ],
        { nullAs: '—' },
      ),
    ).toBe('\uFEFF市町,備考\r\n津市,"a,""b"""\r\nx,—\r\n"\'=cmd|\' /C calc\'!A0",-3\r\n');
  });
  it('xlsx (exceljs) has the sheet, numbers as numbers, a bold frozen header and — for unknown', async () => {
    const buf = await xlsxWorkbook('県全体 2026-04', [
      ['市町', '友だち数'],
      ['津市', 1200],
      ['四日市市', null],
    ]);
    expect(buf.subarray(0, 4).toString('hex')).toBe('504b0304');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('県全体 2026-04')!;
    expect(ws.getCell('A1').value).toBe('市町');
    expect(ws.getCell('A1').font?.bold).toBe(true);
    expect(ws.getCell('B2').value).toBe(1200);
    expect(ws.getCell('B3').value).toBe('—');
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
  });
});

describe('chart options shared with reports', () => {
  const days = ['2025-06-01', '2025-06-02', '2025-06-03'].map((day, i) => ({
    day,
    followers: i === 1 ? null : 1000 + i * 10,
    targetedReaches: 900,
    blocks: 50,
    insight: true,
    follows: 3 + i,
    unblocks: 0,
    unfollows: 1,
  }));

  it('are plain data (JSON round trip keeps them) with the colour-blind-safe palette', () => {
    const o = friendsChartOptions(days);
    expect(JSON.parse(JSON.stringify(o))).toEqual(o);
    expect((o.colors as string[])[0]).toBe('#0072B2');
    // LINE's null stays a gap, not 0
    expect((o.series as Array<{ data: Array<{ y: number | null }> }>)[0]!.data.map((p) => p.y)).toEqual([
      1000,
      null,
      1020,
    ]);
    const fb = followsVsBlocksOptions(days);
    expect((fb.series as Array<{ data: Array<{ y: number }> }>)[0]!.data.map((p) => p.y)).toEqual([3, 4, 5]);
  });

  it('render to SVG on the server with apexcharts/ssr', async () => {
    const svg = await renderChartSvg(friendsChartOptions(days), { width: 600, height: 300 });
    expect(svg).toMatch(/^<svg[^>]+width="600"/);
    expect(svg).toContain('友だち数');
    const bars = await renderChartSvg(deliveryRatesOptions([]), { width: 400, height: 200 });
    expect(bars).toContain('<svg');
  });
});
