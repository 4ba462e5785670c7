import { describe, expect, it } from 'vitest';
import type { TargetListener } from '../../target.js';
import { ListenerFanout } from './fanout.js';

function recorder(name: string, out: string[], throwOn?: keyof TargetListener): TargetListener {
  const rec =
    (method: keyof TargetListener) =>
    (arg?: unknown): void => {
      if (method === throwOn) throw new Error(`${name} failed`);
      out.push(`${name}.${method}${arg === undefined ? '' : ` ${JSON.stringify(arg)}`}`);
    };
  return {
    onLog: rec('onLog'),
    onDropped: rec('onDropped'),
    onConsole: rec('onConsole'),
    onHalt: rec('onHalt'),
    onResume: rec('onResume'),
    onEventsChanged: rec('onEventsChanged'),
  };
}

describe('ListenerFanout', () => {
  it('forwards every report to each listener in order', () => {
    const out: string[] = [];
    const fan = new ListenerFanout([recorder('server', out)], () => {});
    fan.add(recorder('gdb', out));
    fan.onConsole('x');
    fan.onResume(true);
    fan.onEventsChanged();
    fan.onLog([]);
    expect(out).toEqual([
      'server.onConsole "x"',
      'gdb.onConsole "x"',
      'server.onResume true',
      'gdb.onResume true',
      'server.onEventsChanged',
      'gdb.onEventsChanged',
      'server.onLog []',
      'gdb.onLog []',
    ]);
  });

  it('keeps serving the others when one listener throws, and can drop a listener', () => {
    const out: string[] = [];
    const errors: unknown[] = [];
    const gdb = recorder('gdb', out);
    const fan = new ListenerFanout([recorder('server', out, 'onConsole'), gdb], (e) => errors.push(e));
    fan.onConsole('y');
    expect(out).toEqual(['gdb.onConsole "y"']);
    expect(errors).toHaveLength(1);
    fan.remove(gdb);
    fan.onResume(false);
    expect(out).toEqual(['gdb.onConsole "y"', 'server.onResume false']);
  });
});
