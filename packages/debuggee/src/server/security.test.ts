/** Admission: tokens, handshake refusals, the Host check against DNS rebinding, exposure rules. */
import { networkInterfaces } from 'node:os';
import { PROTOCOL_VERSION } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { HostPolicy, tokenMatches } from './security.js';
import { DebuggeeServer } from './server.js';
import { FakeTarget } from './testing/fakeTarget.js';
import { type Running, startFakeDaemon } from './testing/harness.js';
import { RequestFailed, TestClient } from './testing/testClient.js';

let daemon: Running | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function refusal(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RequestFailed);
  return (e as RequestFailed).error;
}

describe('token', () => {
  it('admits the right token and refuses a wrong or missing one with E_AUTH', async () => {
    daemon = await startFakeDaemon({}, { token: 's3cret' });
    const { client, welcome } = await TestClient.connect(daemon.port, { token: 's3cret', role: 'controller' });
    expect(welcome.role).toBe('controller');
    await client.close();
    expect(await refusal(TestClient.connect(daemon.port, { token: 's3cres' }))).toMatchObject({ code: 'E_AUTH' });
    expect(await refusal(TestClient.connect(daemon.port, { token: 'a much longer wrong token' }))).toMatchObject({
      code: 'E_AUTH',
    });
    const missing = await TestClient.open(daemon.port);
    expect(await refusal(missing.hello())).toMatchObject({ code: 'E_AUTH' });
    await missing.closed;
    expect(missing.closeCode).toBe(1008);
    expect(daemon.server.clientCount).toBe(0);
  });

  it('compares in constant time over digests of any length', () => {
    expect(tokenMatches(undefined, undefined)).toBe(true);
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('abc', undefined)).toBe(false);
    expect(tokenMatches('', undefined)).toBe(false);
  });
});

describe('handshake', () => {
  it('refuses another protocol version with both versions in data', async () => {
    daemon = await startFakeDaemon();
    const error = await refusal(TestClient.connect(daemon.port, { protocolVersion: PROTOCOL_VERSION + 1 }));
    expect(error).toMatchObject({
      code: 'E_VERSION',
      data: { clientVersion: PROTOCOL_VERSION + 1, serverVersion: PROTOCOL_VERSION },
    });
  });

  it('refuses a connection whose first message is not hello', async () => {
    daemon = await startFakeDaemon();
    const c = await TestClient.open(daemon.port);
    const refused = new Promise<unknown>((resolve) => {
      c.ws.on('message', resolve);
    });
    c.sendMessage({ t: 'req', id: 1, op: 'status', args: {} });
    await refused;
    await c.closed;
    expect(c.closeCode).toBe(1008);
    expect(c.closeReason).toBe('E_HANDSHAKE');
  });

  it('refuses garbage as a first message with E_HANDSHAKE', async () => {
    daemon = await startFakeDaemon();
    const c = await TestClient.open(daemon.port);
    c.sendRaw(new Uint8Array([0xc1, 0xff, 0x00]));
    await c.closed;
    expect(c.closeReason).toBe('E_HANDSHAKE');
  });

  it('drops a connection that never says hello', async () => {
    daemon = await startFakeDaemon({}, { limits: { handshakeTimeoutMs: 100 } });
    const c = await TestClient.open(daemon.port);
    await c.closed;
    expect(c.closeReason).toBe('E_HANDSHAKE');
  });
});

describe('Host header (DNS rebinding)', () => {
  it('accepts loopback names and the bound address, refuses anything else with 403', async () => {
    daemon = await startFakeDaemon();
    const port = daemon.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      const c = await TestClient.open(port, { hostHeader: host });
      await c.close();
    }
    for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `10.9.8.7:${port}`]) {
      await expect(TestClient.open(port, { hostHeader: host })).rejects.toThrow('HTTP 403');
    }
    expect(daemon.server.clientCount).toBe(0);
  });

  it('checks Origin too when a browser sends one', () => {
    const policy = new HostPolicy('127.0.0.1', ['debuggee']);
    const req = (host: string | undefined, origin?: string) =>
      ({ headers: { host, ...(origin === undefined ? {} : { origin }) } }) as never;
    expect(policy.allows(req('127.0.0.1:9871'))).toBe(true);
    expect(policy.allows(req('debuggee:9871'))).toBe(true);
    expect(policy.allows(req('127.0.0.1:9871', 'http://localhost:3000'))).toBe(true);
    expect(policy.allows(req('127.0.0.1:9871', 'http://attacker.example'))).toBe(false);
    expect(policy.allows(req('127.0.0.1:9871', 'null'))).toBe(false);
    expect(policy.allows(req(undefined))).toBe(false);
    expect(policy.allows(req('10.1.2.3:9871'))).toBe(false);
  });

  it("accepts this machine's interface addresses on a wildcard bind, and nothing else", () => {
    const policy = new HostPolicy('0.0.0.0');
    const req = (host: string) => ({ headers: { host } }) as never;
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) {
        const host = info.family === 'IPv6' ? `[${info.address}]:1` : `${info.address}:1`;
        expect(policy.allows(req(host)), host).toBe(true);
      }
    }
    expect(policy.allows(req('rebound.attacker.example:9871'))).toBe(false);
  });
});

describe('exposure', () => {
  it('refuses to start on a non-loopback address without a token', () => {
    const make = (host: string, token?: string) =>
      new DebuggeeServer(new FakeTarget(), {
        host,
        port: 0,
        mode: 'remote',
        onControllerLoss: 'stay',
        log: silentLogger(),
        ...(token === undefined ? {} : { token }),
      });
    expect(() => make('0.0.0.0')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => make('192.168.1.10')).toThrow(/needs a token/);
    expect(() => make('0.0.0.0', 'tok')).not.toThrow();
    expect(() => make('127.0.0.1')).not.toThrow();
  });

  it('serves a wildcard bind with a token', async () => {
    daemon = await startFakeDaemon({}, { host: '0.0.0.0', token: 'tok' });
    const { welcome } = await TestClient.connect(daemon.port, { token: 'tok' });
    expect(welcome.t).toBe('welcome');
  });

  it('reports a port in use as E_CONFIG', async () => {
    daemon = await startFakeDaemon();
    const second = new DebuggeeServer(new FakeTarget(), {
      host: '127.0.0.1',
      port: daemon.port,
      mode: 'remote',
      onControllerLoss: 'stay',
      log: silentLogger(),
    });
    await expect(second.listen()).rejects.toMatchObject({ code: 'E_CONFIG' });
    await second.close('test');
  });
});
