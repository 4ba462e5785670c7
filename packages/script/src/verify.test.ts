import { LIMITS } from '@hvdbg/protocol';
import { describe, expect, test } from 'vitest';
import { BUILTINS } from './builtins.js';
import { OPCODES, Op } from './bytecode.js';
import { compileScript } from './compile.js';
import { disassemble } from './disasm.js';
import { ScriptVerifyError } from './errors.js';
import { newScriptContext } from './host.js';
import { SnapshotHost } from './snapshot.js';
import { assemble, BUILTIN, type RawScript } from './test/asm.js';
import { verifyScript } from './verify.js';
import { ScriptVM } from './vm.js';

function rejection(buffer: Uint8Array): string {
  try {
    verifyScript(buffer);
  } catch (e) {
    expect(e).toBeInstanceOf(ScriptVerifyError);
    expect((e as ScriptVerifyError).code).toBe('E_SCRIPT_VERIFY');
    return (e as Error).message;
  }
  return 'accepted';
}

const RET0: RawScript['code'] = [['PUSH_I32', 0], ['RET']];
const raw = (r: Partial<RawScript>): Uint8Array => assemble({ code: RET0, ...r });

// One line per case: a crafted buffer → the verifier's exact message.
const CASES: [string, Uint8Array, string][] = [
  ['minimal valid buffer', raw({}), 'accepted'],
  ['too short', new Uint8Array(10), 'buffer of 10 bytes is shorter than the header'],
  [
    'too long',
    new Uint8Array(LIMITS.maxScriptBytes + 1),
    `buffer of ${LIMITS.maxScriptBytes + 1} bytes exceeds the ${LIMITS.maxScriptBytes}-byte limit`,
  ],
  ['bad magic', raw({ magic: 0x12345678 }), 'bad magic: not an hvdbg script buffer'],
  ['future version', raw({ version: 2 }), 'unsupported bytecode version 2 (this daemon runs version 1)'],
  ['unknown flags', raw({ flags: 6 }), 'unknown header flags 0x6'],
  ['reserved field', raw({ reserved: 1 }), 'reserved header field is not zero'],
  ['no functions', raw({ functions: [], counts: { functions: 0 } }), 'no functions'],
  ['too many globals', raw({ counts: { globals: 600 } }), '600 globals exceed the limit of 512'],
  ['truncated function table', raw({ counts: { functions: 200 } }), 'truncated function table at byte 24'],
  ['params > locals', raw({ functions: [[0, 2, 1]] }), 'function 0 has more parameters than locals'],
  ['entry with params', raw({ functions: [[0, 1, 1]] }), 'the entry function cannot take parameters'],
  ['frame too big', raw({ functions: [[0, 0, 256]] }), 'function 0 has 256 locals; the stack has 256 slots'],
  ['bad string kind', raw({ strings: [[7, 'x']] }), 'string 0 has unknown kind 7'],
  ['odd wide string', raw({ strings: [[1, 'abc']] }), 'wide string 0 has an odd byte length'],
  ['empty global name', raw({ globals: [''] }), 'global 0 has a name of length 0'],
  ['invalid global name', raw({ globals: ['1x'] }), 'global 0 has an invalid name'],
  ['duplicate global', raw({ globals: ['g', 'g'] }), "global 'g' is listed twice"],
  ['trailing byte', raw({ trailing: [0] }), 'code section of 6 bytes does not end the 39-byte buffer (starts at 32)'],
  ['no code', raw({ code: [] }), 'no code'],
  ['unknown opcode', raw({ code: [0xee] }), 'unknown opcode 0xee at code offset 0'],
  [
    'truncated operand',
    raw({ code: [Op.PUSH_I32, 0] }),
    'instruction PUSH_I32 at code offset 0 runs past the end of function 0',
  ],
  ['function 0 not at 0', raw({ functions: [[1, 0, 0]] }), 'function 0 must start at code offset 0'],
  [
    'functions out of order',
    raw({
      functions: [
        [0, 0, 0],
        [0, 0, 0],
      ],
    }),
    'function 1 entry 0 is out of order or outside the code',
  ],
  [
    'function past code',
    raw({
      functions: [
        [0, 0, 0],
        [99, 0, 0],
      ],
    }),
    'function 1 entry 99 is out of order or outside the code',
  ],
  ['jump outside code', raw({ code: [['JMP', 100]] }), 'jump at code offset 0 targets 100, outside function 0'],
  ['negative jump', raw({ code: [['JMP', -1]] }), 'jump at code offset 0 targets -1, outside function 0'],
  [
    'jump into an instruction',
    raw({
      code: [
        ['PUSH_I32', 0],
        ['JMP', 1],
      ],
    }),
    'jump at code offset 5 targets 1, inside an instruction',
  ],
  [
    'jump into another function',
    raw({
      functions: [
        [0, 0, 0],
        [5, 0, 0],
      ],
      code: [['JMP', 5], ...RET0],
    }),
    'jump at code offset 0 targets 5, outside function 0',
  ],
  ['stack underflow', raw({ code: [['ADD'], ['RET']] }), 'stack underflow at ADD (word 0 of function 0)'],
  ['RET on empty stack', raw({ code: [['RET']] }), 'stack underflow at RET (word 0 of function 0)'],
  ['falls off the end', raw({ code: [['NOP']] }), 'execution falls off the end of function 0'],
  [
    'inconsistent depth',
    raw({ code: [['PUSH_I32', 1], ['JZ', 15], ['PUSH_I32', 7], ['PUSH_I32', 0], ['RET']] }),
    'inconsistent stack depth at word 6 of function 0 (0 vs 1)',
  ],
  [
    'unbounded stack growth',
    raw({
      code: [
        ['PUSH_I32', 1],
        ['JMP', 0],
      ],
    }),
    'inconsistent stack depth at word 0 of function 0 (0 vs 1)',
  ],
  [
    'stack overflow',
    raw({ code: [...Array.from({ length: 300 }, () => ['PUSH_I32', 0] as ['PUSH_I32', number]), ['RET']] }),
    'stack depth 253 at word 504 exceeds the 256-slot stack',
  ],
  [
    'local out of range',
    raw({ functions: [[0, 0, 2]], code: [['LOAD_LOCAL', 2], ['RET']] }),
    'LOAD_LOCAL at code offset 0: local 2 out of range (2)',
  ],
  [
    'store to a missing local',
    raw({ functions: [[0, 0, 0]], code: [['PUSH_I32', 0], ['STORE_LOCAL', 0], ...RET0] }),
    'STORE_LOCAL at code offset 5: local 0 out of range (0)',
  ],
  [
    'global out of range',
    raw({ code: [['LOAD_GLOBAL', 0], ['RET']] }),
    'LOAD_GLOBAL at code offset 0: global 0 out of range (0)',
  ],
  [
    'register out of range',
    raw({ code: [['LOAD_REG', 999], ['RET']] }),
    'LOAD_REG at code offset 0: register 999 out of range (120)',
  ],
  [
    'pseudo out of range',
    raw({ code: [['LOAD_PSEUDO', 99], ['RET']] }),
    'LOAD_PSEUDO at code offset 0: pseudo-register 99 out of range (16)',
  ],
  [
    'constant out of range',
    raw({ code: [['PUSH_CONST', 0], ['RET']] }),
    'PUSH_CONST at code offset 0: constant 0 out of range (0)',
  ],
  [
    'string out of range',
    raw({ strings: [[0, 'a']], code: [['PUSH_STR', 1], ['RET']] }),
    'PUSH_STR at code offset 0: string 1 out of range (1)',
  ],
  ['unknown function', raw({ code: [['CALL', 3], ['RET']] }), 'CALL at code offset 0: function 3 out of range (1)'],
  [
    'unknown built-in',
    raw({ code: [['CALL_BUILTIN', 999, 0], ...RET0] }),
    `CALL_BUILTIN at code offset 0: built-in 999 out of range (${BUILTINS.length})`,
  ],
  [
    'built-in arity',
    raw({ code: [['PUSH_I32', 0], ['PUSH_I32', 0], ['CALL_BUILTIN', BUILTIN('poi'), 2], ['RET']] }),
    "built-in 'poi' at code offset 10 takes 1 arguments, got 2",
  ],
  [
    'built-in underflow',
    raw({ code: [['CALL_BUILTIN', BUILTIN('poi'), 1], ['RET']] }),
    'stack underflow at CALL_BUILTIN (word 0 of function 0)',
  ],
  [
    'printf count',
    raw({ strings: [[0, '%x %x']], code: [['PUSH_I32', 0], ['PRINTF', 0, 1], ...RET0] }),
    'printf at code offset 5: the format takes 2 arguments, got 1',
  ],
  [
    'printf format',
    raw({ strings: [[0, '%q']], code: [['PRINTF', 0, 0], ...RET0] }),
    "printf at code offset 0: unknown printf conversion '%q'",
  ],
  [
    'printf wide format',
    raw({ strings: [[1, 'ab']], code: [['PRINTF', 0, 0], ...RET0] }),
    'printf at code offset 0: the format is a wide string',
  ],
  [
    'printf string out of range',
    raw({ code: [['PRINTF', 0, 0], ...RET0] }),
    'PRINTF at code offset 0: string 0 out of range (0)',
  ],
  ['EXT width', raw({ code: [['PUSH_I32', 0], ['EXT', 3, 0], ['RET']] }), 'EXT at code offset 5: bad width or sign'],
  [
    'call depth mismatch',
    raw({
      functions: [
        [0, 0, 0],
        [4, 2, 2],
      ],
      code: [['CALL', 1], ['RET'], ['LOAD_LOCAL', 0], ['RET']],
    }),
    'stack underflow at CALL (word 0 of function 0)',
  ],
];

describe('verifier rejections', () => {
  test.each(CASES)('%s', (_name, buffer, expected) => {
    expect(rejection(buffer)).toBe(expected);
  });
});

describe('verifier acceptance', () => {
  test('every compiled construct verifies', () => {
    const sources = [
      'x = 1; while (x < 10) { x++; if (x == 5) { break; } } printf("%d %s\\n", x, "s");',
      'int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); } .r = fib(7);',
      'for (i = 0; i < 3 && .k || 1; i++) { continue; } do { } while (0);',
      'eq(&.a, interlocked_increment(&.b)); print(12345678abcdef); pause();',
    ];
    for (const s of sources) expect(() => verifyScript(compileScript(s))).not.toThrow();
  });

  test('the verifier computes each frame size and pre-decodes jumps to word indices', () => {
    const buffer = compileScript('x = 1; while (x < 3) { x++; }');
    const v = verifyScript(buffer);
    expect(v.fnFrame[0]).toBe(1 + 2); // one local, two operands deep
    expect(disassemble(buffer)).toEqual([
      'fn0:',
      '0000 PUSH_I32 1',
      '0005 STORE_LOCAL 0',
      '0008 LOAD_LOCAL 0',
      '000b PUSH_I32 3',
      '0010 LTU',
      '0011 JZ 39',
      '0016 LOAD_LOCAL 0',
      '0019 PUSH_I32 1',
      '001e ADD',
      '001f STORE_LOCAL 0',
      '0022 JMP 8',
      '0027 PUSH_I32 0',
      '002c RET',
    ]);
    // JMP 8 (byte offset) became word 4.
    const jmp = Array.from(v.code).indexOf(Op.JMP);
    expect(v.code[jmp + 1]).toBe(4);
  });

  test('the opcode table matches the enum', () => {
    OPCODES.forEach((info, op) => {
      expect(Op[info.name as keyof typeof Op]).toBe(op);
    });
  });

  test('a hand-made recursive function runs within the stack limit', () => {
    // fn1(n) = n == 0 ? 0 : fn1(n - 1); called with 1000 → call depth error, not a crash.
    const buffer = assemble({
      functions: [
        [0, 0, 0],
        [9, 1, 1],
      ],
      code: [
        ['PUSH_I32', 1000],
        ['CALL', 1],
        ['RET'],
        ['LOAD_LOCAL', 0],
        ['JZ', 30],
        ['LOAD_LOCAL', 0],
        ['PUSH_I32', 1],
        ['SUB'],
        ['CALL', 1],
        ['RET'],
        ['PUSH_I32', 0],
        ['RET'],
      ],
    });
    const vm = new ScriptVM(new SnapshotHost());
    const r = vm.run(verifyScript(buffer), newScriptContext());
    expect(r.ok ? 'ok' : r.error.message).toBe('call depth over 128');
  });
});
