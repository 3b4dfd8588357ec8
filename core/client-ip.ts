/**
 * The client's address of a request that did not go through fastify (the front handlers), by the
 * same rule fastify applies with TAYORI_TRUST_PROXY: off → the socket's peer; on → the leftmost
 * X-Forwarded-For address; a list of addresses/CIDRs (or loopback, linklocal, uniquelocal) or a hop
 * count → walk X-Forwarded-For from the right while the hop is trusted.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean) | undefined;

const NAMED: Record<string, Array<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  linklocal: [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  uniquelocal: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
};

const strip = (a: string) => (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a);

/** A trust test (address, hop) from TAYORI_TRUST_PROXY's forms. */
export function trustTest(tp: TrustProxy): ((address: string, hop: number) => boolean) | undefined {
  if (!tp) return undefined;
  if (tp === true) return () => true;
  if (typeof tp === 'function') return tp;
  const list = new BlockList();
  for (const entry of tp) {
    for (const [net, bits, family] of NAMED[entry] ?? []) list.addSubnet(net, bits, family);
    if (NAMED[entry]) continue;
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return (address) => {
    const a = strip(address);
    return list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  };
}

export function clientIp(req: IncomingMessage, trust: ((address: string, hop: number) => boolean) | undefined): string {
  const peer = strip(req.socket.remoteAddress ?? '');
  if (!trust) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // the chain from the nearest hop outwards: the peer, then X-Forwarded-For right to left
  const chain = [peer, ...forwarded.reverse()];
  let i = 0;
  while (i < chain.length - 1 && trust(chain[i]!, i)) i++;
  return chain[i]!;
}
