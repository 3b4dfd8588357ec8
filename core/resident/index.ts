/**
 * The residents' pages inside LINE (LIFF): the frame capabilities draw their resident pages and APIs
 * in (core/resident-shell.ts), and the ID-token verifier behind it.
 */
export { createResidentFrame, RESIDENT_CSP, type ResidentFrame, type ResidentFrameDeps } from './frame.ts';
export { IdTokenVerifier, idTokenErrors, LINE_ID_TOKEN_ISSUER, type VerifiedResident } from './id-token.ts';
export { FRAME_ASSETS, type LiffConfig } from './pages.ts';
export {
  liffEndpointUrl,
  liffSetupSchema,
  setUpLiffApp,
  type LiffSetupInput,
  type LiffSetupResult,
} from './liff-apps.ts';
export { registerLiffSettingsPages } from './settings-page.ts';
