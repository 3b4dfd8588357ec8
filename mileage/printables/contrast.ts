/** WCAG 2.1 contrast: relative luminance, contrast ratio, and a text colour that reads on a background. */

export const DARK_TEXT = '#1a1a1a';
export const LIGHT_TEXT = '#ffffff';
/** AA for normal text. */
export const AA_RATIO = 4.5;

const HEX = /^#([0-9a-fA-F]{6})$/;

export function isHexColour(c: string): boolean {
  return HEX.test(c);
}

/** Relative luminance of '#rrggbb' (WCAG 2.1). */
export function luminance(hex: string): number {
  const m = HEX.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const v = Number.parseInt(m[1]!, 16);
  const channel = (x: number) => {
    const s = x / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel((v >> 16) & 255) + 0.7152 * channel((v >> 8) & 255) + 0.0722 * channel(v & 255);
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The text colour for a background: soft black or white, whichever contrasts more; where neither
 * reaches AA (mid-tones, around 4.2:1 at worst), pure black or white, one of which always does (≥ 4.58:1).
 */
export function textColourOn(background: string): string {
  const dark = contrastRatio(DARK_TEXT, background);
  const light = contrastRatio(LIGHT_TEXT, background);
  if (Math.max(dark, light) >= AA_RATIO) return dark >= light ? DARK_TEXT : LIGHT_TEXT;
  return contrastRatio('#000000', background) >= light ? '#000000' : LIGHT_TEXT;
}
