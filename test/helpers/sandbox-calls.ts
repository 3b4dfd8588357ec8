import { HTTPFetchError } from '@line/bot-sdk';

/**
 * Calls one of the sandbox's /__sandbox test hooks (`path` after /__sandbox); a string body is sent
 * as it is, anything else as JSON. The answer's JSON body, with its HTTP status as `httpStatus`.
 */
export async function sandboxHook(sandboxUrl: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sandboxUrl}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { ...(await res.json()), httpStatus: res.status };
}

/** The HTTPFetchError a LINE SDK call fails with, its body parsed as `json`; fails the test if it succeeds. */
export async function lineFailure(p: Promise<unknown>): Promise<HTTPFetchError & { json: any }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HTTPFetchError) return Object.assign(e, { json: e.body ? JSON.parse(e.body) : null });
    throw e;
  }
  throw new Error('expected the request to fail');
}
