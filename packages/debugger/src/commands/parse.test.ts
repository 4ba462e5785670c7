import { describe, expect, it } from 'vitest';
import { tokenize } from '../tokenize.js';
import { parseBreakpointArgs } from './breakpoints.js';
import { parseEditArgs, parseRangeArgs } from './memory.js';
import { parseRegisterArgs } from './registers.js';
import { findAll, parseSearchArgs } from './search.js';
import { parseConnectArgs, substituteArgs } from './sessionCommands.js';
import { COMMANDS, commandNames, findCommand, markdownTable, renderCommandReference, renderHelp } from './table.js';

const args = (line: string) => tokenize(line);

describe('argument parsers', () => {
  it.each([
    ['', {}],
    ['@rsp', { address: '@rsp' }],
    ['@rsp + 8 l 20', { address: '@rsp + 8', length: '20' }],
    ['kernel!x L 10 pid 1a', { address: 'kernel!x', length: '10', pid: '1a' }],
    ['l 10', { length: '10' }],
  ])('range %j', (line, expected) => {
    expect(parseRangeArgs(args(line), 'db')).toEqual(expected);
  });

  it.each([
    ['1000 l', "'l' needs a value"],
    ['1000 l 10 l 20', "'l' is given twice"],
    ['1000 l 10 extra', "unexpected 'extra' after the options"],
    ['{x}', 'db does not take a {…} block'],
  ])('range %j fails', (line, message) => {
    expect(() => parseRangeArgs(args(line), 'db')).toThrow(message);
  });

  it.each([
    ['1000 90 c3', { address: '1000', values: ['90', 'c3'] }],
    ['@rsp 1 pid 4', { address: '@rsp', values: ['1'], pid: '4' }],
  ])('edit %j', (line, expected) => {
    expect(parseEditArgs(args(line), 'eb')).toEqual(expected);
  });

  it.each([
    ['', 'eb needs an address'],
    ['1000', 'eb needs at least one value'],
    ['1000 pid 4 1', "'pid p' must come last"],
  ])('edit %j fails', (line, message) => {
    expect(() => parseEditArgs(args(line), 'eb')).toThrow(message);
  });

  it.each([
    ['', { kind: 'all' }],
    ['rax', { kind: 'one', name: 'rax' }],
    ['@RIP', { kind: 'one', name: 'rip' }],
    ['rax = 5', { kind: 'set', name: 'rax', expression: '5' }],
    ['@rcx=@rax+kernel!x', { kind: 'set', name: 'rcx', expression: '@rax+kernel!x' }],
  ])('r %j', (rest, expected) => {
    expect(parseRegisterArgs(rest)).toEqual(expected);
  });

  it.each([
    ['1rax', "'1rax' is not a register name"],
    ['rax =', "missing value after 'r rax ='"],
  ])('r %j fails', (rest, message) => {
    expect(() => parseRegisterArgs(rest)).toThrow(message);
  });

  it.each([
    ['kernel!main', { address: 'kernel!main' }],
    ['kernel!main + 4 pid 1 core 0', { address: 'kernel!main + 4', pid: '1', core: '0' }],
  ])('bp %j', (line, expected) => {
    expect(parseBreakpointArgs(args(line))).toEqual(expected);
  });

  it.each([
    ['', 'bp needs an address'],
    ['1000 tid', "'tid' needs a value"],
    ['1000 core 1 2', "unexpected '2' after the filters"],
  ])('bp %j fails', (line, message) => {
    expect(() => parseBreakpointArgs(args(line))).toThrow(message);
  });

  it.each([
    ['local', 'local'],
    ['127.0.0.1:9000', { target: '127.0.0.1:9000', role: 'controller' }],
    ['host 9000 observer', { target: 'host:9000', role: 'observer' }],
    ['ws://h:1 token s3cret', { target: 'ws://h:1', role: 'controller', token: 's3cret' }],
  ])('.connect %j', (line, expected) => {
    expect(parseConnectArgs(line.split(' '))).toEqual(expected);
  });

  it('.connect refuses junk', () => {
    expect(() => parseConnectArgs(['h:1', 'admin'])).toThrow("unexpected 'admin' (controller, observer or token T)");
    expect(() => parseConnectArgs(['local', 'x'])).toThrow("unexpected 'x' after .connect local");
  });
});

describe('command table', () => {
  it.each([
    ['g', 'g'],
    ['GO', 'g'],
    ['!msread', '!msrread'],
    ['!iout', '!ioout'],
    ['!syscall2', '!syscall'],
    ['.help', 'help'],
    ['sleep', '.sleep'],
    ['!DB', '!db'],
    ['u64', 'u'],
  ])('%s is %s', (word, name) => {
    expect(findCommand(word)?.name).toBe(name);
  });

  it('covers every command of SPEC §5 the client promises', () => {
    const required = [
      '!syscall', '!sysret', '!cpuid', '!msrread', '!msrwrite', '!tsc', '!pmc', '!vmcall', '!ioin', '!ioout',
      '!exception', '!interrupt', '!crwrite', '!dr', '!epthook', '!epthook2', '!monitor', '!mode', '!trace',
      '!xsetbv', '!syscall2', '!sysret2', '!msread', '!iout', 'events', 'g', 'p', 't', 'i', 'gu', 'pause', '~',
      'r', 'db', 'dw', 'dd', 'dq', 'dc', '!db', '!dd', '!dq', 'eb', 'ed', 'eq', '!eb', '!ed', '!eq', 'u', 'bp',
      'bl', 'bc', 'bd', 'be', 'k', 'x', 'lm', '?', 'print', '.formats', '.status', 'status', '.connect',
      '.disconnect', 'help', '.help', 'exit', '.sleep', '.wait',
    ]; // biome-ignore format: a list
    const missing = required.filter((n) => findCommand(n) === undefined);
    expect(missing).toEqual([]);
    expect(commandNames()).toContain('!syscall2');
  });

  it('gives every command syntax, summary and details', () => {
    for (const c of COMMANDS) {
      expect(c.syntax.length, c.name).toBeGreaterThan(0);
      expect(c.summary.length, c.name).toBeGreaterThan(0);
      expect(c.details.length, c.name).toBeGreaterThan(c.summary.length);
    }
  });

  it('renders help and the README reference from the same rows', () => {
    const help = renderHelp().join('\n');
    const reference = renderCommandReference();
    for (const c of COMMANDS) {
      expect(help).toContain(c.name);
      expect(reference).toContain(`\`${c.syntax.replaceAll('|', '\\|')}\``);
    }
    expect(reference).toContain('| `g`        | `go`    | yes        | resume all cores ');
    expect(markdownTable(['a', 'bb'], [['xyzw', '1']])).toEqual(['| a    | bb  |', '| ---- | --- |', '| xyzw | 1   |']);
  });
});

describe('.script', () => {
  it('substitutes $argN as text', () => {
    expect(substituteArgs('db $arg1 l $arg2 ; $arg0 $arg9', ['f.ds', '@rsp', '10'])).toBe('db @rsp l 10 ; f.ds $arg9');
  });
});

describe('search', () => {
  it('parses start l len pattern [pid p]', () => {
    expect(parseSearchArgs(['1000', 'l', '100', '90', 'c3', 'pid', '4'], 'sb')).toEqual({
      start: '1000',
      length: '100',
      pattern: ['90', 'c3'],
      pid: '4',
    });
    expect(() => parseSearchArgs(['1000', '100', '90'], 'sb')).toThrow('usage: sb start l len pattern… [pid p]');
  });

  it('finds aligned and unaligned matches', () => {
    const hay = new Uint8Array([1, 2, 1, 2, 1, 2, 0, 0]);
    expect(findAll(hay, new Uint8Array([1, 2]), 1, 10)).toEqual([0, 2, 4]);
    expect(findAll(hay, new Uint8Array([1, 2]), 4, 10)).toEqual([0, 4]);
    expect(findAll(hay, new Uint8Array([1, 2]), 1, 2)).toEqual([0, 2]);
    expect(findAll(hay, new Uint8Array([9]), 1, 10)).toEqual([]);
  });
});
