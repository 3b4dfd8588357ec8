/**
 * What the residents' mileage pages get from the server besides the resident API's answers
 * (mileage/schemas.ts): the card designs in use. Plain types only; the server imports this file too.
 */

/** A published card design as the card page draws it. */
export interface CardLook {
  designId: string;
  title: string;
  note: string;
  /** '#rrggbb' */
  colour: string;
  /** Dark or white, whichever reaches WCAG AA on `colour` (printables/contrast.ts). */
  textColour: string;
  /** The artwork's public URL, or null. */
  artworkUrl: string | null;
}
