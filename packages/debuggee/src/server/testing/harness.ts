/** Starts a DebuggeeServer over a FakeTarget on a random loopback port, for tests and benchmarks. */
import { silentLogger } from '../../log.js';
import { DebuggeeServer, type ServerOptions } from '../server.js';
import { FakeTarget, type FakeTargetOptions } from './fakeTarget.js';

export interface Running {
  server: DebuggeeServer;
  target: FakeTarget;
  port: number;
  stop(): Promise<void>;
}

export async function startFakeDaemon(
  targetOptions: FakeTargetOptions = {},
  serverOptions: Partial<ServerOptions> = {},
): Promise<Running> {
  const target = new FakeTarget(targetOptions);
  const server = new DebuggeeServer(target, {
    host: '127.0.0.1',
    port: 0,
    mode: target.mode,
    onControllerLoss: 'stay',
    log: silentLogger(),
    ...serverOptions,
  });
  const { port } = await server.listen();
  return { server, target, port, stop: () => server.close('test finished') };
}
