import { describe, expect, test } from 'vitest';
import { output } from './test/run.js';

// One line per case: statements → everything the script printed (or `error: <run-time error>`).
const CASES: [string, string][] = [
  // printf and print
  ['printf("%llx %llx\\n", @rax, @rcx);', '3c fffff80000001000\n'],
  ['printf("%x", @rbx);', '55667788'],
  ['printf("%lx", @rbx);', '1122334455667788'],
  ['printf("%d", -1);', '-1'],
  ['printf("%lld", -1);', '-1'],
  ['printf("%u", -1);', '4294967295'],
  ['printf("%llu", -1);', '18446744073709551615'],
  ['printf("%hd %hx", ffff, 12345);', '-1 2345'],
  ['printf("%i", 0n42);', '42'],
  ['printf("%o", 8);', '10'],
  ['printf("%llo", -1);', '1777777777777777777777'],
  ['printf("%c%c", 68, 69);', 'hi'],
  ['printf("%p", 1234);', '0000000000001234'],
  ['printf("%s!", 5000);', 'hello!'],
  ['printf("%s", "lit");', 'lit'],
  ['printf("%ws %ls", 5020, L"w");', 'wide w'],
  ['printf("%08x|%-6d|%6d|%-4s|%5s", 1f, 0n42, -0n42, "ab", "cd");', '0000001f|42    |   -42|ab  |   cd'],
  ['printf("%016llx", @rax);', '000000000000003c'],
  ['printf("%05d", -0n42);', '-0042'],
  ['printf("100%%\\n");', '100%\n'],
  ['printf("tab\\there \\x41\\x4a \\"q\\" \\\\");', 'tab\there AJ "q" \\'],
  ['printf("%s", 0);', 'error: printf: cannot read the string at 0x0'],
  ['print(@rax);', '3c\n'],
  ['print(0 - 1);', 'ffffffffffffffff\n'],
  // variables, globals, assignment forms
  ['x = 5; x += 3; x *= 2; x -= 1; x /= 3; x %= 4; printf("%d", x);', '1'],
  ['x = 1; x <<= 4; x |= 3; x &= 1e; x ^= 5; x >>= 1; printf("%x", x);', 'b'],
  ['x = 5; x++; x++; x--; printf("%d", x);', '6'],
  ['x = y = 7; printf("%d %d", x, y);', '7 7'],
  ['.g = 10; .g++; printf("%x", .g);', '11'],
  ['.h = 1; x = &.h; eq(x, 99); printf("%x %x", .h, dq(x));', '99 99'],
  ['v = 5; p = &v; *p = 8; printf("%d %d", v, *p);', '8 8'],
  ['v = 5; p = reference(v); *p += 2; printf("%d", v);', '7'],
  // registers: sub-register writes merge (SPEC quirk), flags set/clear
  ['@eax = 1; printf("%llx", @rax);', '1'],
  ['@rbx = ffffffffffffffff; @ebx = 1; printf("%llx", @rbx);', 'ffffffff00000001'],
  ['@rbx = ffffffffffffffff; @bl = 0; @ah = 12; printf("%llx %llx", @rbx, @rax);', 'ffffffffffffff00 123c'],
  ['@cf = 1; @zf = 0; printf("%x", @rflags);', '207'],
  ['@iopl = 3; printf("%x %x", @iopl, @rflags);', '3 3246'],
  ['@r8 = 1122334455667788; @r8d = 0; @r8w = ffff; @r8h = 1; printf("%llx", @r8);', '11223344000001ff'],
  ['@rip = 1234; printf("%x", $ip);', '1234'],
  // typed declarations: width and signedness
  ['int i = ffffffff; printf("%lld", i);', '-1'],
  ['unsigned int u = ffffffff; if (u > 0) { printf("pos"); }', 'pos'],
  ['char ch = 1ff; printf("%lld", ch);', '-1'],
  ['unsigned char ch = 1ff; ch++; printf("%lld", ch);', '0'],
  ['int i = 7fffffff; i = i + 1; printf("%d", i);', '-2147483648'],
  ['int i = -7; printf("%d %d", i / 2, i % 2);', '-3 -1'],
  ['int i = -8; printf("%d", i >> 1);', '-4'],
  ['x = 0 - 1; if (x > 0) { printf("undeclared compares unsigned"); }', 'undeclared compares unsigned'],
  ['if (-1 > 0) { printf("no"); } else { printf("untyped compares signed"); }', 'untyped compares signed'],
  ['int p = 1, q = 2; printf("%d", p + q);', '3'],
  // control flow
  ['if (1) { printf("a"); } else { printf("b"); }', 'a'],
  ['x = 2; if (x == 1) { printf("1"); } elsif (x == 2) { printf("2"); } else { printf("3"); }', '2'],
  ['x = 3; if (x == 1) { printf("1"); } elsif (x == 2) { printf("2"); } else { printf("3"); }', '3'],
  ['i = 0; while (i < 3) { printf("%d", i); i++; }', '012'],
  ['i = 0; do { printf("%d", i); i++; } while (i < 3);', '012'],
  ['i = 5; do { printf("once"); } while (i < 3);', 'once'],
  ['for (i = 0; i < 5; i++) { if (i == 1) { continue; } if (i == 3) { break; } printf("%d", i); }', '02'],
  ['for (int i = 0; i < 3; i++) { printf("%d", i); }', '012'],
  ['for (i = 0, j = 5; i < j; i++, j--) { printf("%d%d ", i, j); }', '05 14 23 '],
  ['i = 0; while (1) { i++; if (i > 4) { break; } } printf("%d", i);', '5'],
  ['i = 0; do { i++; if (i < 3) { continue; } printf("%d", i); } while (i < 5);', '345'],
  ['for (i = 0; i < 2; i++) { for (j = 0; j < 2; j++) { printf("%d%d ", i, j); } }', '00 01 10 11 '],
  ['{ printf("wrapped"); }', 'wrapped'],
  ['// comment\nprintf("x"); /* block\n comment */ printf("y");', 'xy'],
  // user functions
  ['int sq(int n) { return n * n; } printf("%d", sq(9));', '81'],
  ['int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); } printf("%d", fib(0n15));', '610'],
  ['void hello() { printf("hi "); } hello(); hello();', 'hi hi '],
  ['void early(int n) { if (n) { return; } printf("late"); } early(1); early(0);', 'late'],
  ['int two(int p, int q) { return p - q; } printf("%d", two(0n10, 3));', '7'],
  ['int g() { .calls++; return .calls; } g(); g(); printf("%d", g());', '3'],
  ['int loc() { x = 5; return x; } x = 1; loc(); printf("%d", x);', '1'],
  ['int down(int n) { if (n == 0) { return 0; } return down(n - 1); } down(0n1000);', 'error: call depth over 128'],
  // memory built-ins
  ['eq(5080, 1122334455667788); printf("%llx %x", poi(5080), dd(5084));', '1122334455667788 11223344'],
  ['ed(5080, aabbccdd); eb(5080, 11); printf("%x", dd(5080));', 'aabbcc11'],
  ['memcpy(5090, 5000, 6); printf("%s", 5090);', 'hello'],
  ['x = 0; memcpy(&x, "AB", 2); printf("%x", x);', '4241'],
  ['eq_pa(9000, 55); printf("%x", db_pa(9000));', '55'],
  ['memcpy_pa(9004, 9000, 1); printf("%x", db_pa(9004));', '1'],
  ['printf("%d", eq(0, 1));', '0'],
  ['memcpy(0, 5000, 4);', 'error: memcpy: cannot write memory at 0x0'],
  ['*0 = 1;', 'error: cannot write 8 bytes of virtual memory at 0x0'],
  // interlocked and spinlocks
  ['.c = 5; printf("%d ", interlocked_increment(&.c)); printf("%d", .c);', '6 6'],
  ['.c = 5; printf("%d", interlocked_decrement(&.c));', '4'],
  ['.c = 5; printf("%d %d", interlocked_exchange(&.c, 9), .c);', '5 9'],
  ['.c = 5; printf("%d %d", interlocked_exchange_add(&.c, 2), .c);', '5 7'],
  [
    '.c = 5; printf("%d %d ", interlocked_compare_exchange(&.c, 8, 5), .c); interlocked_compare_exchange(&.c, 1, 5); printf("%d", .c);',
    '5 8 8',
  ],
  ['.l = 0; spinlock_lock(&.l); printf("%d ", .l); spinlock_unlock(&.l); printf("%d", .l);', '1 0'],
  ['.l = 1; spinlock_lock(&.l);', 'error: spinlock at 0x8000000000000000 still held after 65536 tries'],
  ['.l = 1; spinlock_lock_custom_wait(&.l, 10);', 'error: spinlock at 0x8000000000000000 still held after 16 tries'],
  // pseudo-registers that point to text
  ['printf("%s %s", $date, $time);', '2026-01-02 03:04:05.006'],
  ['printf("%x %x", $context, $buffer);', '0 0'],
  // limits
  ['while (1) { }', 'error: step budget of 1000000 exhausted'],
  ['x = 1 / 0;', 'error: division by zero'],
  ['event_trace_step_out();', '[warning] event_trace_step_out() is not supported; ignored'],
];

describe('statements', () => {
  test.each(CASES)('%s', (source, expected) => {
    expect(output(source)).toBe(expected);
  });
});

// Arrays, typed-value checks (SPEC §4.4).
const TYPED: [string, string][] = [
  ['int t[3] = {1, 2, 3}; printf("%d %d %d", t[0], t[1], t[2]);', '1 2 3'],
  ['int t[4] = {1, 2}; printf("%d %d", t[1], t[3]);', '2 0'],
  ['char s[8] = {41, 42, 43}; printf("%s %d", s, strlen(s));', 'ABC 3'],
  ['int m[2][3] = {{1, 2, 3}, {4, 5, 6}}; printf("%d %d", m[0][2], m[1][0]);', '3 4'],
  ['int m[2][3] = {{1}, {4, 5}}; printf("%d %d %d", m[0][1], m[1][1], m[1][2]);', '0 5 0'],
  ['int t[4]; for (i = 0; i < 4; i++) { t[i] = i * i; } t[3] += 1; t[2]++; printf("%d %d", t[2], t[3]);', '5 10'],
  ['char s[4] = {-1}; printf("%lld", s[0]);', '-1'],
  ['unsigned char s[4] = {1ff}; printf("%lld", s[0]);', '255'],
  ['int t[2]; p = &t[1]; *p = 7; printf("%d", t[1]);', '7'],
  ['char s[8]; memcpy(s, 5000, 6); printf("%s", s);', 'hello'],
  ['int t[3]; i = 3; t[i] = 1;', 'error: array index 0x3 out of bounds (0x3 elements)'],
  ['int t[3]; i = -1; x = t[i];', 'error: array index 0xffffffffffffffff out of bounds (0x3 elements)'],
  ['int i = 1; i = i << 0n32;', 'error: shift count 20 is not below the 32-bit width'],
  ['long long q = 1; q = q << 0n40; printf("%llx", q);', '10000000000'],
  ['int i = 80000000; int j = -1; i = i / j;', 'error: signed 32-bit division overflow'],
  ['x = 1 << 0n64; printf("%x", x);', '1'],
  // typedef and typed pointers: scaled arithmetic, signed difference, pointee-sized access
  ['typedef unsigned char u8; u8 v = 1ff; printf("%x %d", v, sizeof(u8));', 'ff 1'],
  ['typedef int i32; i32 n = ffffffff; if (n < 0) { printf("signed"); }', 'signed'],
  ['typedef int *ip; int t[3] = {1, 2, 3}; ip p = t; printf("%d", *(p + 2));', '3'],
  ['int t[3] = {1, 2, 3}; int *p = &t[0]; p++; printf("%d %d", *p, p[1]);', '2 3'],
  ['int t[4]; int *p = t; int *q = &t[3]; printf("%lld %lld", q - p, p - q);', '3 -3'],
  ['short t[2] = {-2, 7}; short *p = t; printf("%lld %d", *p, *(p + 1));', '-2 7'],
  ['int t[2]; int *p = t; *p = 11223344; p[1] = 55; printf("%x %x", t[0], t[1]);', '11223344 55'],
  ['char s[4] = {41, 42}; char *p = s; p += 1; printf("%c", *p);', 'B'],
  ['int v = 5; int *p = &v; *p += 2; printf("%d %d", v, sizeof(int *));', '7 8'],
  ['unsigned long long *p = 5040; printf("%llx", *p);', 'deadbeefcafebabe'],
  ['int *p = 5040; printf("%x", *p);', 'cafebabe'],
  ['x = *(int *)5040; printf("%llx", x);', 'ffffffffcafebabe'],
  ['int *p, q; q = 1ffffffff; printf("%d", sizeof(q));', '4'],
];

describe('arrays and typed values', () => {
  test.each(TYPED)('%s', (source, expected) => {
    expect(output(source)).toBe(expected);
  });
});

test('sizeof of expressions uses their static type and evaluates nothing', () => {
  expect(
    output(
      'char ch; int t[5]; short s2[2][3]; printf("%d %d %d %d %d", sizeof(ch), sizeof(t), sizeof(s2), sizeof(@rax), sizeof(t[1]));',
    ),
  ).toBe('1 20 12 8 4');
  expect(output('x = sizeof(poi(0)); printf("%d", x);')).toBe('8');
});

// float and double (SPEC §4.4): float promotes to double; /0.0 and overflow are run-time errors.
const FLOATS: [string, string][] = [
  ['double v = 11.5; printf("%f", v);', '11.500000'],
  ['double v = .5; printf("%.2f|%8.3f|%-8.1f|%08.2f", v, v, v, -v);', '0.50|   0.500|0.5     |-0000.50'],
  ['double v = 1; v = v / 4; printf("%f", v);', '0.250000'],
  ['double v = 0n7; int i = v / 2; printf("%d", i);', '3'],
  ['double v = -2.5; int i = v; printf("%d", i);', '-2'],
  ['float fv = 0.1; double v = fv; printf("%.10f", v);', '0.1000000015'],
  ['double v = 0.1; printf("%.10f", v * 3);', '0.3000000000'],
  ['double v = 3.; if (v > 2.5 && v < 3.5) { printf("in"); }', 'in'],
  ['double v = 0.; if (v) { printf("true"); } else { printf("false"); }', 'false'],
  ['double v = -0.0; if (!v) { printf("zero"); }', 'zero'],
  ['double v = 2.0; v += 1; v *= 2; v -= 0.5; v /= 2; printf("%f", v);', '2.750000'],
  ['double v = 1.5; v++; printf("%f %f", v, -v);', '2.500000 -2.500000'],
  ['double t[3] = {1.5, 2.5}; printf("%f %f %f", t[0], t[1], t[2]);', '1.500000 2.500000 0.000000'],
  ['float t[2] = {1.25, 3}; float *p = t; printf("%f %f %d", *p, p[1], sizeof(t));', '1.250000 3.000000 8'],
  ['double sq(double x) { return x * x; } printf("%f", sq(1.5));', '2.250000'],
  ['int half(double x) { return x / 2; } printf("%d", half(9));', '4'],
  ['double v = (double)0n10 / 4; printf("%f %d", v, (int)v);', '2.500000 2'],
  ['.g = 2.5; printf("%d", .g);', '2'],
  ['@rax = 2.5; printf("%f", @rax);', '2.500000'],
  ['double v = 1.0; v = v / 0;', 'error: floating-point division by zero'],
  ['double v = 0n10; for (i = 0; i < 0n400; i++) { v = v * v; }', 'error: floating-point overflow'],
  ['double v = 1.0; v = v * 1e;', ''],
  ['float fv = 1.0; for (i = 0; i < 0n200; i++) { fv = fv * 0n1000; }', 'error: floating-point overflow (float)'],
  [
    'double v = 1.0; x = (int)(v * 100000000000000000000.0);',
    'error: floating-point value 100000000000000000000 does not fit a 64-bit integer',
  ],
  ['unsigned int u = ffffffff; double v = u; printf("%f", v);', '4294967295.000000'],
  ['double v = -1; printf("%f", v);', '-1.000000'],
];

describe('floating point', () => {
  test.each(FLOATS)('%s', (source, expected) => {
    expect(output(source)).toBe(expected);
  });
});

// structs (SPEC §4.4): layout, nesting, pointer members, zero-filled initialisers, copy.
const STRUCTS: [string, string][] = [
  ['struct pt { int x; int y; }; struct pt q; q.x = 3; q.y = 4; printf("%d %d %d", q.x, q.y, sizeof(q));', '3 4 8'],
  ['struct s1 { char c1; long long v; short s; }; printf("%d", sizeof(struct s1));', '24'],
  ['struct pt { int x; int y; }; struct pt q = {5}; printf("%d %d", q.x, q.y);', '5 0'],
  [
    'struct pt { int x; int y; }; struct pt q = {1, 2}; struct pt r = q; r.y = 9; printf("%d %d %d", q.y, r.x, r.y);',
    '2 1 9',
  ],
  ['struct pt { int x; int y; }; struct pt q = {1, 2}; struct pt r; r = q; printf("%d %d", r.x, r.y);', '1 2'],
  [
    'struct pt { int x; int y; }; struct pt q; struct pt *p = &q; p->x = 7; p->y = p->x * 2; printf("%d %d", q.x, q.y);',
    '7 14',
  ],
  [
    'struct in { int v[3]; }; struct out { int tag; struct in i; }; struct out o = {1, {{4, 5, 6}}}; printf("%d %d %d", o.tag, o.i.v[0], o.i.v[2]);',
    '1 4 6',
  ],
  [
    'struct in { int v[3]; }; struct out { int tag; struct in i; }; struct out o = {1, 4, 5, 6}; o.i.v[1] += 0n10; printf("%d", o.i.v[1]);',
    '15',
  ],
  [
    'struct node { int val; struct node *next; }; struct node n2 = {2}; struct node n1 = {1, &n2}; printf("%d %d", n1.next->val, n1.next->next);',
    '2 0',
  ],
  [
    'struct pt { int x; int y; }; struct pt t[3] = {{1, 2}, {3, 4}}; t[2].x = 5; printf("%d %d %d %d", t[0].y, t[1].x, t[2].x, sizeof(t));',
    '2 3 5 24',
  ],
  [
    'struct pt { int x; int y; }; struct pt t[2]; struct pt *p = t; p++; p->y = 8; printf("%d %d", t[1].y, &t[1] - &t[0]);',
    '8 1',
  ],
  ['typedef struct pt { int x; int y; } point; point q = {3, 4}; point *p = &q; printf("%d", p->x + p->y);', '7'],
  [
    'struct list; typedef struct list *lp; struct list { int v; lp next; }; struct list l = {9}; lp p = &l; printf("%d", p->v);',
    '9',
  ],
  ['struct g { char name[8]; int n; }; struct g v = {{41, 42}, 3}; printf("%s %d", v.name, v.n);', 'AB 3'],
  ['struct pt { int x; int y; }; struct pt *p = 5040; printf("%x %x", p->x, p->y);', 'cafebabe deadbeef'],
  [
    'struct pt { double a; float b; }; struct pt v = {1.5, 2.25}; v.a *= 2; printf("%f %f %d", v.a, v.b, sizeof(v));',
    '3.000000 2.250000 16',
  ],
  [
    'struct pt { int x; int y; }; int sum(struct pt *p) { return p->x + p->y; } struct pt q = {2, 3}; printf("%d", sum(&q));',
    '5',
  ],
  ['struct pt { int x; int y; }; struct pt q; p = &q.y; *p = 1; printf("%d", q.y);', '1'],
  [
    'struct pt { int x; int y; }; for (i = 0; i < 2; i++) { struct pt q = {i}; printf("%d%d ", q.x, q.y); q.y = 5; }',
    '00 10 ',
  ],
];

describe('structs', () => {
  test.each(STRUCTS)('%s', (source, expected) => {
    expect(output(source)).toBe(expected);
  });
});
