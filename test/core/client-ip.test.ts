/** core/client-ip.ts: the front handlers' client address follows TAYORI_TRUST_PROXY as fastify's req.ip does. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, trustTest } from '../../core/client-ip.ts';
import { trustProxyOption } from '../../core/config.ts';

const req = (peer: string, xff?: string) =>
  ({ socket: { remoteAddress: peer }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as IncomingMessage;

describe('clientIp', () => {
  it('off: the socket peer, whatever X-Forwarded-For says', () => {
    expect(clientIp(req('::ffff:192.0.2.9', '203.0.113.7'), trustTest(false))).toBe('192.0.2.9');
  });

  it('on: the leftmost forwarded address', () => {
    expect(clientIp(req('10.0.0.2', '203.0.113.7, 10.0.0.1'), trustTest(true))).toBe('203.0.113.7');
    expect(clientIp(req('10.0.0.2'), trustTest(true))).toBe('10.0.0.2');
  });

  it('a list: walks from the right while the hop is a trusted proxy', () => {
    const trust = trustTest(['loopback', '10.0.0.0/8']);
    // a client forging an address on the left is not believed past the first untrusted hop
    expect(clientIp(req('127.0.0.1', '198.51.100.1, 203.0.113.7, 10.1.2.3'), trust)).toBe('203.0.113.7');
    expect(clientIp(req('192.0.2.50', '203.0.113.7'), trust)).toBe('192.0.2.50');
  });

  it('a hop count: that many proxies are trusted', () => {
    const trust = trustTest(trustProxyOption(1));
    expect(clientIp(req('10.0.0.2', '198.51.100.1, 203.0.113.7'), trust)).toBe('203.0.113.7');
  });
});
