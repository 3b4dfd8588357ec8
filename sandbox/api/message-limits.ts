/**
 * LINE's documented limits on message objects that the OpenAPI schemas do not carry
 * (e.g. a text message holds at most 5,000 characters; altText at most 1,500).
 */
import type { LineErrorDetail } from '../openapi.ts';

const TEXT_MAX = 5000;
const ALT_TEXT_MAX = 1500;

export function checkMessageLimits(messages: unknown): LineErrorDetail[] {
  if (!Array.isArray(messages)) return [];
  const details: LineErrorDetail[] = [];
  messages.forEach((m: any, i) => {
    if (!m || typeof m !== 'object') return;
    if ((m.type === 'text' || m.type === 'textV2') && typeof m.text === 'string' && m.text.length > TEXT_MAX) {
      details.push({ message: `Length must be between 0 and ${TEXT_MAX}`, property: `messages[${i}].text` });
    }
    if (typeof m.altText === 'string' && (m.altText.length === 0 || m.altText.length > ALT_TEXT_MAX)) {
      details.push({ message: `Length must be between 1 and ${ALT_TEXT_MAX}`, property: `messages[${i}].altText` });
    }
  });
  return details;
}
