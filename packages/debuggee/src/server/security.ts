/**
 * Who may talk to the daemon.
 *
 * - DNS rebinding: a web page can make a browser resolve its own name to 127.0.0.1 and open a
 *   WebSocket to a debugger port; the request then carries the attacker's name in `Host`. Only
 *   names that really denote this daemon are accepted: loopback names, the bound address, this
 *   machine's interface addresses (wildcard binds), and names the operator lists explicitly.
 * - Tokens are compared in constant time: both sides are hashed to equal-length digests first, so
 *   neither the content nor the length of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../config.js';

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

export class HostPolicy {
  private readonly names: Set<string>;

  /** `boundHost` is the listen address; `extraNames` are operator-listed names (e.g. a service name). */
  constructor(boundHost: string, extraNames: readonly string[] = []) {
    this.names = new Set(['localhost', '127.0.0.1', '::1', ...extraNames.map((n) => n.toLowerCase())]);
    if (WILDCARD_HOSTS.has(boundHost)) {
      // A wildcard bind answers on every interface, so every interface address is a valid Host.
      for (const list of Object.values(networkInterfaces())) {
        for (const info of list ?? []) this.names.add(info.address.toLowerCase());
      }
    } else {
      this.names.add(stripBrackets(boundHost).toLowerCase());
    }
  }

  /** Checks `Host` (required) and `Origin` (browsers only; must name this daemon too). */
  allows(req: IncomingMessage): boolean {
    const host = req.headers.host;
    if (host === undefined || !this.allowsAuthority(host)) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return this.allowsAuthority(new URL(origin).host);
    } catch {
      return false;
    }
  }

  private allowsAuthority(authority: string): boolean {
    // The port is not compared: the attack reuses the right port anyway, and a port mapping
    // (container, tunnel) legitimately changes it.
    const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(authority.trim());
    if (m === null) return false;
    const name = stripBrackets(m[1]!).toLowerCase();
    return this.names.has(name) || isLoopbackHost(name);
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time token check; no expected token means anyone may connect (loopback only). */
export function tokenMatches(expected: string | undefined, presented: string | undefined): boolean {
  if (expected === undefined) return true;
  // Hash even a missing token so a refusal takes the same time either way.
  return timingSafeEqual(digest(expected), digest(presented ?? '')) && presented !== undefined;
}
