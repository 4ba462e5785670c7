/** Daemon options: defaults, parsing of every option, and E_CONFIG for anything invalid. */
import { describe, expect, it } from 'vitest';
import { type DaemonConfig, DEFAULTS, parseControllerLoss, parseHostPort, parseMemory, readConfig } from './config.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): DaemonConfig {
  const r = readConfig(argv, env);
  if (r.kind !== 'run') throw new Error('expected a run config');
  return r.config;
}

function configError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    readConfig(argv, env);
  } catch (e) {
    expect(e).toMatchObject({ code: 'E_CONFIG' });
    return (e as Error).message;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('readConfig', () => {
  it('defaults to loopback on the default port, remote mode, halted guest stays halted', () => {
    expect(config([])).toEqual(DEFAULTS);
    expect(DEFAULTS.listen).toEqual({ host: '127.0.0.1', port: 9871 });
    expect(DEFAULTS.onControllerLoss).toBe('stay');
  });

  it('reads every option', () => {
    const c = config([
      '--listen=127.0.0.1:0',
      '--token=t',
      '--guest=/tmp/k.elf',
      '--vcpus=4',
      '--memory=64M',
      '--workload=syscalls',
      '--lossless',
      '--on-controller-loss=resume=2.5',
      '--log-level=debug',
      '--local',
      '--gdb=127.0.0.1:1234',
      '--halted',
      '--allow-host=debuggee',
      '--exit-with-stdin',
    ]);
    expect(c).toEqual({
      listen: { host: '127.0.0.1', port: 0 },
      token: 't',
      guest: '/tmp/k.elf',
      vcpus: 4,
      memoryBytes: 64n << 20n,
      workload: 'syscalls',
      lossless: true,
      onControllerLoss: { resumeAfterMs: 2500 },
      logLevel: 'debug',
      local: true,
      gdb: { host: '127.0.0.1', port: 1234 },
      halted: true,
      allowHosts: ['debuggee'],
      exitWithStdin: true,
    });
  });

  it('takes the token and extra host names from the environment', () => {
    const c = config(['--listen', '0.0.0.0:9871'], { HVDBG_TOKEN: 'env-secret', HVDBG_ALLOW_HOSTS: 'a, b' });
    expect(c.token).toBe('env-secret');
    expect(c.allowHosts).toEqual(['a', 'b']);
    expect(config(['--token', 'flag'], { HVDBG_TOKEN: 'env' }).token).toBe('flag');
  });

  it('refuses a non-loopback bind without a token', () => {
    expect(configError(['--listen', '0.0.0.0:9871'])).toMatch(/needs a token/);
    expect(configError(['--listen', '[::]:9871'])).toMatch(/needs a token/);
    expect(config(['--listen', '[::1]:9871']).listen).toEqual({ host: '::1', port: 9871 });
  });

  it('rejects bad values with the option named', () => {
    expect(configError(['--vcpus', '0'])).toMatch(/--vcpus/);
    expect(configError(['--vcpus', 'two'])).toMatch(/--vcpus/);
    expect(configError(['--memory', '12X'])).toMatch(/--memory/);
    expect(configError(['--listen', 'nope'])).toMatch(/--listen/);
    expect(configError(['--listen', '127.0.0.1:70000'])).toMatch(/port out of range/);
    expect(configError(['--on-controller-loss', 'resume'])).toMatch(/stay or resume=SECONDS/);
    expect(configError(['--gdb', '0.0.0.0:1234'])).toMatch(/loopback only/);
    expect(configError(['--workload', 'idle'])).toMatch(/workload/i);
    expect(configError(['--log-level', 'loud'])).toMatch(/log-level/i);
    expect(configError(['--bogus'])).toMatch(/bogus/);
    expect(configError(['stray'])).toMatch(/stray/);
    expect(configError(['--allow-host', 'a/b'])).toMatch(/allow-host/);
  });
});

describe('value parsers', () => {
  it('parses sizes, addresses and policies', () => {
    expect(parseMemory('256M')).toBe(256n << 20n);
    expect(parseMemory('1g')).toBe(1n << 30n);
    expect(parseMemory('2097152')).toBe(2n << 20n);
    expect(() => parseMemory('512K')).toThrow(/between/);
    expect(parseHostPort('9000', 'listen')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseHostPort(':9000', 'listen')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseHostPort('localhost:1', 'listen')).toEqual({ host: 'localhost', port: 1 });
    expect(parseControllerLoss('stay')).toBe('stay');
    expect(parseControllerLoss('resume=0')).toEqual({ resumeAfterMs: 0 });
  });
});
