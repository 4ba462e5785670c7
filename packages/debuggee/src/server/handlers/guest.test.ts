/** The guest-information and flush ops over a real socket: results, argument plumbing, roles. */
import { afterEach, describe, expect, it } from 'vitest';
import { type Running, startFakeDaemon } from '../testing/harness.js';
import { TestClient } from '../testing/testClient.js';

let daemon: Running | undefined;
const clients: TestClient[] = [];

async function connect(port: number, role: 'controller' | 'observer') {
  const { client } = await TestClient.connect(port, { role, name: role });
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await daemon?.stop();
  daemon = undefined;
});

describe('guest.processes, guest.threads, cpu.cpuid, queue.flush', () => {
  it('serves the process and thread tables to an observer', async () => {
    daemon = await startFakeDaemon();
    const obs = await connect(daemon.port, 'observer');
    const { processes } = (await obs.request('guest.processes', {})) as { processes: { pid: number }[] };
    expect(processes).toEqual(daemon.target.processes());
    expect(await obs.request('guest.threads', {})).toEqual({ threads: daemon.target.threads() });
    const { threads } = (await obs.request('guest.threads', { pid: 2 })) as { threads: { pid: number }[] };
    expect(threads.map((t) => t.pid)).toEqual([2, 2]);
    expect(await obs.requestError('guest.threads', { pid: 77 })).toMatchObject({ code: 'E_BAD_PARAMETER' });
  });

  it('passes leaf, subleaf and vCPU to cpuid (the main core and subleaf 0 by default)', async () => {
    daemon = await startFakeDaemon({ vcpus: 2 });
    const ctl = await connect(daemon.port, 'controller');
    expect(await ctl.request('cpu.cpuid', { leaf: 0x8000_0001, subleaf: 3, vcpu: 1 })).toEqual({
      eax: 0x8000_0001,
      ebx: 3,
      ecx: 1,
      edx: 0,
    });
    expect(await ctl.request('cpu.cpuid', { leaf: 1 })).toEqual({ eax: 1, ebx: 0, ecx: 0, edx: 0 });
    expect(await ctl.requestError('cpu.cpuid', { leaf: 1, vcpu: 9 })).toMatchObject({ code: 'E_BAD_VCPU' });
  });

  it('flushes for the controller only', async () => {
    daemon = await startFakeDaemon();
    const ctl = await connect(daemon.port, 'controller');
    const obs = await connect(daemon.port, 'observer');
    daemon.target.queued = 5;
    expect(await obs.requestError('queue.flush', {})).toMatchObject({ code: 'E_FORBIDDEN' });
    expect(await obs.requestError('cpu.cpuid', { leaf: 0 })).toMatchObject({ code: 'E_FORBIDDEN' });
    expect(await ctl.request('queue.flush', {})).toEqual({ discarded: 5 });
    expect(await ctl.request('queue.flush', {})).toEqual({ discarded: 0 });
  });
});
