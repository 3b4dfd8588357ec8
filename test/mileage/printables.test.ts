import { createRequire } from 'node:module';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { CARD_SIZE, cardLayout, cardPng, cardSvg, SAMPLE_FACE } from '../../mileage/printables/card-image.ts';
import { AA_RATIO, contrastRatio, luminance, textColourOn } from '../../mileage/printables/contrast.ts';
import {
  activityHow,
  type FlyerInput,
  flyerLayout,
  flyerPdf,
  flyerPng,
  friendAddUrl,
} from '../../mileage/printables/flyer.ts';
import { flyerInput } from '../../mileage/printable-routes.ts';
import { wrap, textWidth } from '../../mileage/printables/layout.ts';
import { QR_QUIET_ZONE, qrMatrix, qrPng } from '../../mileage/printables/qr.ts';
import {
  type SessionPosterInput,
  sessionPosterLayout,
  sessionPosterPdf,
  validityText,
} from '../../mileage/printables/session-poster.ts';

// pngjs comes with qrcode (which writes its PNGs with it); it has no type declarations of its own
const { PNG } = createRequire(import.meta.url)('pngjs') as {
  PNG: { sync: { read(png: Buffer): { width: number; height: number; data: Buffer } } };
};

const URL_ = 'https://liff.line.me/1234567890-AbCdEfGh/mileage/scan?c=v1.24201.0b3f.abcdef0123456789';

const poster: SessionPosterInput = {
  municipality: '津市',
  programme: '津市とこわか健康マイレージ 令和8年度',
  session: {
    title: '健康ウォーキング大会',
    heldOn: '2026-05-10',
    place: '偕楽公園 正面広場',
    validFrom: Date.parse('2026-05-10T00:00:00Z'), // 9:00 in Tokyo
    validUntil: Date.parse('2026-05-10T07:30:00Z'), // 16:30
  },
  activity: { name: 'ウォーキングイベントへの参加', points: 50 },
  url: URL_,
};

const flyer: FlyerInput = {
  municipality: '津市',
  basicId: '@1a2b3c4x',
  card: { title: '三重とこわか健康応援カード', note: '協力店で提示すると特典が受けられます' },
  programme: {
    name: '津市とこわか健康マイレージ 令和8年度',
    startsOn: '2026-04-01',
    endsOn: '2027-03-31',
    goalPoints: 100,
    cardValidMonths: 12,
    activities: [
      { name: '健康診断の受診', points: 30, method: 'grant', dailyCap: 0, periodCap: 1 },
      { name: 'ウォーキング 30 分', points: 1, method: 'self_report', dailyCap: 1, periodCap: 0 },
    ],
  },
};

/** The PDF's objects as text (pdfkit writes plain objects; only content streams are compressed). */
function pdfFacts(pdf: Buffer) {
  const s = pdf.toString('latin1');
  return {
    header: s.slice(0, 5),
    eof: s.trimEnd().endsWith('%%EOF'),
    pages: [...s.matchAll(/\/Type \/Page\b(?!s)/g)].length,
    count: /\/Type \/Pages[\s\S]*?\/Count (\d+)/.exec(s)?.[1],
    mediaBox: /\/MediaBox \[([^\]]+)\]/.exec(s)?.[1],
    fonts: [...s.matchAll(/\/BaseFont \/([A-Z]{6}\+)?([\w-]+)/g)].map((m) => m[2]),
    embedded: s.includes('/FontFile2'),
  };
}

function pngSize(png: Buffer) {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height, img };
}

describe('QR code', () => {
  it('is a PNG of the asked size whose modules are the URL’s QR code (quiet zone white)', async () => {
    const png = await qrPng(URL_, 600);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const { width, height, img } = pngSize(png);
    expect([width, height]).toEqual([600, 600]);
    // sample each module's centre and compare with the matrix qrcode computes for the URL
    const m = qrMatrix(URL_);
    const expected = QRCode.create(URL_, { errorCorrectionLevel: 'Q' });
    expect(m.size).toBe(expected.modules.size);
    const unit = width / (m.size + 2 * QR_QUIET_ZONE);
    const darkAt = (r: number, c: number) => {
      const x = Math.floor((c + QR_QUIET_ZONE + 0.5) * unit);
      const y = Math.floor((r + QR_QUIET_ZONE + 0.5) * unit);
      return img.data[(y * width + x) * 4]! < 128;
    };
    let mismatches = 0;
    for (let r = 0; r < m.size; r++) for (let c = 0; c < m.size; c++) if (darkAt(r, c) !== m.dark(r, c)) mismatches++;
    expect(mismatches).toBe(0);
    // the quiet zone: the first rows of pixels are white
    for (let x = 0; x < width; x += 7) expect(img.data[x * 4]).toBe(255);
    // the PNG is the level-Q symbol (another level gives other modules), and it carries the whole URL
    const text = expected.segments
      .map((s) => {
        const d = (s as unknown as { data: Uint8Array | string }).data;
        return typeof d === 'string' ? d : Buffer.from(d).toString('utf8');
      })
      .join('');
    expect(text).toBe(URL_);
  });

  it('differs for different URLs', () => {
    const a = qrMatrix(URL_);
    const b = qrMatrix(`${URL_}x`);
    let diff = 0;
    for (let r = 0; r < Math.min(a.size, b.size); r++)
      for (let c = 0; c < a.size; c++) if (a.dark(r, c) !== b.dark(r, c)) diff++;
    expect(diff).toBeGreaterThan(0);
  });
});

describe('session poster', () => {
  it('is a one-page A4 PDF with the Japanese font embedded', async () => {
    const f = pdfFacts(await sessionPosterPdf(poster));
    expect(f.header).toBe('%PDF-');
    expect(f.eof).toBe(true);
    expect(f.pages).toBe(1);
    expect(f.count).toBe('1');
    expect(f.mediaBox).toBe('0 0 595.28 841.89');
    expect(f.fonts).toContain('IPAexGothic');
    expect(f.embedded).toBe(true);
  });

  it('says what, where, when, how many points and how to scan, in Japanese', () => {
    const texts = sessionPosterLayout(poster).shapes.flatMap((s) => (s.kind === 'text' ? [s.text] : []));
    const all = texts.join('\n');
    for (const want of [
      '津市',
      '津市とこわか健康マイレージ 令和8年度',
      '健康ウォーキング大会',
      '令和8年5月10日(日)',
      '偕楽公園 正面広場',
      'ウォーキングイベントへの参加',
      '50 ポイント',
      'LINE のカメラで読み取ってください',
      '令和8年5月10日(日) 9:00〜16:30',
    ]) {
      expect(all).toContain(want);
    }
    const qr = sessionPosterLayout(poster).shapes.find((s) => s.kind === 'qr');
    expect(qr).toMatchObject({ url: URL_ });
    expect(qr && qr.kind === 'qr' && qr.size).toBeGreaterThanOrEqual(250);
  });

  it('keeps every shape on the page, even with a long title and place', () => {
    const long = {
      ...poster,
      session: { ...poster.session, title: '健康づくり'.repeat(20), place: '会場'.repeat(40) },
    };
    for (const s of sessionPosterLayout(long).shapes) {
      const bottom = s.kind === 'text' ? s.y : s.kind === 'qr' ? s.y + s.size : s.y + s.h;
      expect(bottom).toBeLessThanOrEqual(841.89);
      if (s.kind === 'text' && s.anchor !== 'middle')
        expect(s.x + textWidth(s.text, s.size)).toBeLessThanOrEqual(595.28);
    }
  });

  it('writes the validity window across days with both dates', () => {
    expect(validityText(Date.parse('2026-05-09T23:00:00Z'), Date.parse('2026-05-11T09:00:00Z'))).toBe(
      '令和8年5月10日(日) 8:00 〜 令和8年5月11日(月) 18:00',
    );
  });
});

describe('flyer', () => {
  it('is one A4 page as PDF and the same layout as a PNG of A4 proportions', async () => {
    const f = pdfFacts(await flyerPdf(flyer));
    expect([f.header, f.pages, f.mediaBox, f.embedded]).toEqual(['%PDF-', 1, '0 0 595.28 841.89', true]);
    expect(f.fonts).toContain('IPAexGothic');
    const { width, height } = pngSize(flyerPng(flyer, 620));
    expect(width).toBe(620);
    expect(height).toBe(Math.round((620 * 841.89) / 595.28));
  });

  it('carries the friend-add code and ID, the activities with points, the goal, the period and the card', () => {
    const l = flyerLayout(flyer);
    // wrapped lines joined again
    const all = l.shapes.flatMap((s) => (s.kind === 'text' ? [s.text] : [])).join('');
    expect(l.shapes.find((s) => s.kind === 'qr')).toMatchObject({ url: 'https://line.me/R/ti/p/@1a2b3c4x' });
    for (const want of [
      'LINE ID: @1a2b3c4x',
      '健康診断の受診',
      '30 ポイント',
      'ウォーキング 30 分',
      '1 ポイント',
      '100 ポイントたまると「三重とこわか健康応援カード」がもらえます',
      '協力店で提示すると特典が受けられます',
      '実施期間 令和8年4月1日 〜 令和9年3月31日',
      '津市',
    ]) {
      expect(all).toContain(want);
    }
  });

  it('names how often an activity counts, and makes friend-add URLs from basic IDs', () => {
    expect(activityHow(flyer.programme.activities[1]!)).toBe('LINE のメニューから報告・1日1回まで');
    expect(friendAddUrl('1a2b3c4x')).toBe('https://line.me/R/ti/p/@1a2b3c4x');
  });
});

describe('card image', () => {
  const design = { title: '三重とこわか健康応援カード', note: '協力店で提示してください', colour: '#f5a623' };

  it('escapes text from the design and the card', () => {
    const svg = cardSvg(
      { ...design, title: '<script>alert(1)</script> & "x"' },
      { ...SAMPLE_FACE, municipality: '津<市>&' },
    );
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
    expect(svg).toContain('津&lt;市&gt;&amp;');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('shows the card number, issue date and validity, and says when it has expired', () => {
    const text = (expired: boolean) =>
      cardLayout(design, { ...SAMPLE_FACE, expired })
        .shapes.flatMap((s) => (s.kind === 'text' ? [s.text] : []))
        .join('\n');
    expect(text(false)).toContain(SAMPLE_FACE.cardNo);
    expect(text(false)).toContain('発行日 令和8年4月1日');
    expect(text(false)).toContain('有効期限 令和9年3月31日まで');
    expect(text(false)).not.toContain('有効期限切れ');
    expect(text(true)).toContain('有効期限切れ');
  });

  it('draws the text on the card colour at AA contrast, light and dark colours alike', () => {
    for (const colour of ['#f5a623', '#1e5aa8', '#ffffff', '#000000', '#777777', '#06c755', '#e60012']) {
      const on = cardLayout({ ...design, colour }, SAMPLE_FACE).shapes.find(
        (s) => s.kind === 'text' && s.text === design.title,
      );
      expect(on?.kind === 'text' && contrastRatio(on.colour, colour)).toBeGreaterThanOrEqual(AA_RATIO);
    }
    // the worst mid-tone for soft black and white alike still gets a colour that passes
    for (let v = 0; v < 256; v += 5) {
      const grey = `#${v.toString(16).padStart(2, '0').repeat(3)}`;
      expect(contrastRatio(textColourOn(grey), grey)).toBeGreaterThanOrEqual(AA_RATIO);
    }
    expect(luminance('#ffffff')).toBe(1);
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
  });

  it('renders a PNG of the card’s proportions, artwork included', async () => {
    const art = await qrPng('https://example.com/', 120);
    const png = cardPng({ ...design, image: { bytes: art, type: 'image/png' } }, SAMPLE_FACE, 520);
    const { width, height } = pngSize(png);
    expect(width).toBe(520);
    expect(height).toBe(Math.round((520 * CARD_SIZE.height) / CARD_SIZE.width));
    expect(cardSvg({ ...design, image: { bytes: art, type: 'image/png' } }, SAMPLE_FACE)).toContain(
      'data:image/png;base64,',
    );
  });
});

describe('wrapping', () => {
  it('keeps lines within the width and closing punctuation off a line start', () => {
    const lines = wrap('健康づくりの活動をして、ポイントをためましょう。カードがもらえます。', 14, 120);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines.slice(1)) expect('、。」').not.toContain(l[0]);
    expect(lines.join('')).toBe('健康づくりの活動をして、ポイントをためましょう。カードがもらえます。');
    expect(wrap('あ'.repeat(100), 14, 100, 2).at(-1)?.endsWith('…')).toBe(true);
  });
});

describe('the flyer’s content from a programme', () => {
  it('lists the activities still offered, in their order, with the design’s title and note', () => {
    const activity = (name: string, sort: number, retired = false) => ({
      activityId: name,
      programmeId: 'p',
      name,
      points: 10,
      method: 'qr' as const,
      selfReportLabel: '',
      dailyCap: 0,
      periodCap: 0,
      sort,
      retired,
    });
    const input = flyerInput(
      '津市',
      {
        tenantId: '24201',
        programmeId: 'p',
        fiscalYear: 2026,
        name: '津市とこわか健康マイレージ',
        description: '',
        startsOn: '2026-04-01',
        endsOn: '2027-03-31',
        goalPoints: 100,
        cardValidMonths: 12,
        createdBy: 't',
        createdAt: '',
        updatedBy: 't',
        updatedAt: '',
        activities: [activity('後', 20), activity('終了', 5, true), activity('先', 10)],
      },
      '@1a2b3c4x',
      undefined,
    );
    expect(input.programme.activities.map((a) => a.name)).toEqual(['先', '後']);
    expect(input.card).toEqual({ title: '三重とこわか健康応援カード', note: '' });
    expect(input.basicId).toBe('@1a2b3c4x');
  });
});
