/**
 * A Code 128 reader for tests, written from the symbology (ISO/IEC 15417), not from bwip-js: one row
 * of an image's pixels is cut into bars and spaces, their widths into modules, every six into a
 * symbol value (the table below), the check value verified, the values read through code sets A, B
 * and C. What a till's scanner does with one scan line.
 */

/** Bar/space widths of the values 0–106 (103–105: Start A/B/C, 106: Stop, seven elements). */
// biome-ignore format: the table as the standard prints it
const PATTERNS = [
  '212222', '222122', '222221', '121223', '121322', '131222', '122213', '122312', '132212', '221213',
  '221312', '231212', '112232', '122132', '122231', '113222', '123122', '123221', '223211', '221132',
  '221231', '213212', '223112', '312131', '311222', '321122', '321221', '312212', '322112', '322211',
  '212123', '212321', '232121', '111323', '131123', '131321', '112313', '132113', '132311', '211313',
  '231113', '231311', '112133', '112331', '132131', '113123', '113321', '133121', '313121', '211331',
  '231131', '213113', '213311', '213131', '311123', '311321', '331121', '312113', '312311', '332111',
  '314111', '221411', '431111', '111224', '111422', '121124', '121421', '141122', '141221', '112214',
  '112412', '122114', '122411', '142112', '142211', '241211', '221114', '413111', '241112', '134111',
  '111242', '121142', '121241', '114212', '124112', '124211', '411212', '421112', '421211', '212141',
  '214121', '412121', '111143', '111341', '131141', '114113', '114311', '411113', '411311', '113141',
  '114131', '311141', '411131', '211412', '211214', '211232', '2331112',
];

export interface Code128Read {
  text: string;
  /** Light modules before the first bar and after the last one. */
  quietLeft: number;
  quietRight: number;
}

/** Dark (true) or light for each pixel of row `y` of an RGBA image (alpha 0 counts as light). */
export function rowOf(pixels: Uint8Array, width: number, y: number): boolean[] {
  const out: boolean[] = [];
  for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 4;
    const a = pixels[i + 3]! / 255;
    const lum = (0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!) * a + 255 * (1 - a);
    out.push(lum < 128);
  }
  return out;
}

/** Reads one scan line; throws when it is not a valid Code 128 symbol. */
export function readCode128(row: boolean[]): Code128Read {
  const first = row.indexOf(true);
  const last = row.lastIndexOf(true);
  if (first < 0) throw new Error('no bars');
  // widths of bar, space, bar, … from the first bar to the last
  const runs: number[] = [];
  let n = 1;
  for (let x = first + 1; x <= last; x++) {
    if (row[x] === row[x - 1]) n++;
    else {
      runs.push(n);
      n = 1;
    }
  }
  runs.push(n);
  if ((runs.length - 7) % 6 !== 0 || runs.length < 7 + 6 * 3) throw new Error(`${runs.length} bars and spaces`);
  const symbols = (runs.length - 7) / 6;
  const module = runs.reduce((a, b) => a + b, 0) / (symbols * 11 + 13);
  const widths = runs.map((r) => Math.round(r / module));
  const values: number[] = [];
  for (let s = 0; s < symbols; s++) {
    const p = widths.slice(s * 6, s * 6 + 6).join('');
    const v = PATTERNS.indexOf(p);
    if (v < 0 || v > 105) throw new Error(`symbol ${s}: no value has the pattern ${p}`);
    values.push(v);
  }
  if (widths.slice(symbols * 6).join('') !== PATTERNS[106]) throw new Error('no stop pattern');
  const [start, ...rest] = values;
  const check = rest.pop()!;
  let sum = start!;
  rest.forEach((v, i) => {
    sum += v * (i + 1);
  });
  if (sum % 103 !== check) throw new Error(`check value ${check}, expected ${sum % 103}`);
  if (start! < 103) throw new Error('no start pattern');
  let set: 'A' | 'B' | 'C' = start === 103 ? 'A' : start === 104 ? 'B' : 'C';
  let text = '';
  for (let i = 0; i < rest.length; i++) {
    const v = rest[i]!;
    if (set === 'C') {
      if (v < 100) text += String(v).padStart(2, '0');
      else if (v === 100) set = 'B';
      else if (v === 101) set = 'A';
      else throw new Error(`value ${v} in code set C`);
      continue;
    }
    if (v === 99) set = 'C';
    else if (v === 100 && set === 'A') set = 'B';
    else if (v === 101 && set === 'B') set = 'A';
    else if (v === 98) {
      // shift: the next value alone in the other of A / B
      const next = rest[++i]!;
      text += set === 'A' ? String.fromCharCode(next + 32) : String.fromCharCode(next < 64 ? next + 32 : next - 64);
    } else if (v >= 96) throw new Error(`function value ${v}`);
    else text += set === 'B' ? String.fromCharCode(v + 32) : String.fromCharCode(v < 64 ? v + 32 : v - 64);
  }
  return { text, quietLeft: first / module, quietRight: (row.length - 1 - last) / module };
}
