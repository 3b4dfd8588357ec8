import { describe, expect, it } from 'vitest';
import { fileSizeText } from '../../core/file-size.ts';

describe('fileSizeText', () => {
  it('KB below a megabyte (at least 1), then MB and GB with one decimal', () => {
    expect(fileSizeText(0)).toBe('1 KB');
    expect(fileSizeText(1536)).toBe('2 KB');
    expect(fileSizeText(1000 * 1024)).toBe('1,000 KB');
    expect(fileSizeText(10.25 * 1024 ** 2)).toBe('10.3 MB');
    expect(fileSizeText(3 * 1024 ** 3)).toBe('3.0 GB');
  });
});
