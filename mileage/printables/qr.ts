/**
 * QR codes for printables: a PNG for download, and the module matrix the PDF and SVG layouts draw
 * as vectors (sharp at any print size). Error correction Q (25 %) survives a creased or smudged
 * poster; the quiet zone is the standard's 4 modules.
 */
import QRCode from 'qrcode';

export const QR_ERROR_CORRECTION = 'Q' as const;
export const QR_QUIET_ZONE = 4;

/** The dark modules of a URL's QR code, with the side length in modules (quiet zone not included). */
export interface QrMatrix {
  size: number;
  dark(row: number, col: number): boolean;
}

export function qrMatrix(url: string): QrMatrix {
  const { modules } = QRCode.create(url, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return { size: modules.size, dark: (r, c) => modules.get(r, c) === 1 };
}

/** A QR code PNG (black on white, quiet zone included), `width` pixels square. */
export function qrPng(url: string, width = 1024): Promise<Buffer> {
  return QRCode.toBuffer(url, {
    type: 'png',
    errorCorrectionLevel: QR_ERROR_CORRECTION,
    margin: QR_QUIET_ZONE,
    width,
    color: { dark: '#000000', light: '#ffffff' },
  });
}

/** Runs of dark modules per row ([row, first col, length]), so a drawing uses few shapes. */
export function qrRuns(m: QrMatrix): Array<[number, number, number]> {
  const runs: Array<[number, number, number]> = [];
  for (let r = 0; r < m.size; r++) {
    let c = 0;
    while (c < m.size) {
      if (!m.dark(r, c)) {
        c++;
        continue;
      }
      const start = c;
      while (c < m.size && m.dark(r, c)) c++;
      runs.push([r, start, c - start]);
    }
  }
  return runs;
}
