/** The font printables embed (IPAex Gothic, as the reports do), and the family name SVGs give it. */
export const PRINT_FONT = process.env.TAYORI_REPORT_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';
export const PRINT_FONT_FAMILY = 'IPAexGothic';
