/**
 * Net benchmark: the daemon's wire side under load, through the real server and real WebSocket
 * clients on 127.0.0.1. The guest is a fake target that produces log records at full speed, so the
 * figures measure the server (encode once, fan out, flow control), not the emulator.
 *
 * The clients run in a child process, with their own event loop, heap and garbage collector, as a
 * real debugger does (HVDBG_NET_BENCH_CLIENTS=thread puts them in a worker thread of the daemon's
 * process instead, for comparison with earlier figures). Figures:
 *   msgsPerSec1          log records/s delivered to one client (batched mode)
 *   msgsPerSec16         log records/s delivered to EACH of 16 observers (slowest observer)
 *   ratio16              msgsPerSec16 / msgsPerSec1 (target ≥ 0.8)
 *   immMsgsPerSec1       log records/s to one client in immediate mode (every record its own frame)
 *   batchedVsImmediate   msgsPerSec1 / immMsgsPerSec1: what batching buys (HyperDbg's imm no)
 *   immP50Us, immP99Us   immediate-mode event → client latency
 *   breakP50Us/P99Us     exec.pause request → halted notification and response at the client
 *   continueP50Us/P99Us  exec.continue request → resumed notification and response
 *   guestBreak…/guestContinue…  the same against the real emulated machine (built-in kernel) in
 *                        the daemon's slices: the time a pause waits for the slice in progress
 *
 * Throughput clients count the records of each frame from its msgpack header (one array header
 * read) and fully decode and validate a sample of frames, so 16 clients on one core are not
 * limited by decoding 16 copies of the same stream; `decodedMsgsPerSec1` is the same single-client
 * run with every frame decoded and validated, as the real client does.
 *
 * Needs the built packages (npm run build).
 */

import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { decodeServerMessage, encodeMessage } from '../packages/protocol/dist/index.js';

const DIST = '../packages/debuggee/dist';

export default { name: 'net', run };
export { immediateLatency, roundTripLatency, run, throughput };

/** Records per slice and per batch in throughput runs: ~4 KiB batches, as the real queue ships. */
const LOGS_PER_SLICE = 1024;
const BATCH_RECORDS = 60;

async function run({ smoke = false } = {}) {
  const seconds = smoke ? 0.4 : 2;
  const roundTrips = smoke ? 50 : 1000;
  const load = loadavg()[0];
  // Best of several runs: the machine is shared, and a neighbour's burst is not the daemon's speed.
  const runs = smoke ? 1 : 3;
  const one = await bestOf(runs, () => throughput(1, seconds, false));
  const decoded = await bestOf(runs, () => throughput(1, seconds, true));
  const many = await bestOf(runs, () => throughput(16, seconds, false));
  const immediate = await bestOf(runs, () => throughput(1, seconds, false, 1));
  const imm = await immediateLatency(smoke ? 300 : 3000);
  const rt = await roundTripLatency(roundTrips);
  const guestRt = await roundTripLatency(smoke ? 50 : 500, true);
  const msgsPerSec1 = Math.round(one.perClient[0]);
  const msgsPerSec16 = Math.round(Math.min(...many.perClient));
  const figures = {
    msgsPerSec1,
    msgsPerSec16,
    ratio16: round(msgsPerSec16 / msgsPerSec1, 3),
    decodedMsgsPerSec1: Math.round(decoded.perClient[0]),
    immMsgsPerSec1: Math.round(immediate.perClient[0]),
    batchedVsImmediate: round(msgsPerSec1 / immediate.perClient[0], 2),
    drops1: one.drops,
    drops16: many.drops,
    immP50Us: imm.p50,
    immP99Us: imm.p99,
    breakP50Us: rt.break.p50,
    breakP99Us: rt.break.p99,
    continueP50Us: rt.continue.p50,
    continueP99Us: rt.continue.p99,
    guestBreakP50Us: guestRt.break.p50,
    guestBreakP99Us: guestRt.break.p99,
    guestContinueP50Us: guestRt.continue.p50,
    guestContinueP99Us: guestRt.continue.p99,
  };
  const notes = [
    `fake guest, ${BATCH_RECORDS}-record batches (~${BYTES_PER_RECORD} B/record on the wire), clients in a ${CLIENTS_IN_THREAD ? 'worker thread' : 'child process'}`,
    'throughput clients count records from each frame header and fully decode 1 frame in 256',
    `throughput is the best of ${smoke ? 1 : 3} runs; load average at start ${load.toFixed(1)}`,
  ];
  return { figures, notes };
}

/** Encoded size of one benchmark record (for the notes). */
const BYTES_PER_RECORD = 96;

// -------------------------------------------------------------------------------------------------
// Main thread: the daemon side
// -------------------------------------------------------------------------------------------------

async function startDaemon(targetOptions, limits = {}) {
  const { FakeTarget } = await import(`${DIST}/server/testing/fakeTarget.js`);
  return serve(new FakeTarget(targetOptions), limits);
}

/** The real target (the built-in guest kernel), sliced as the daemon executable slices it. */
async function startGuestDaemon() {
  const { Debuggee } = await import(`${DIST}/debuggee.js`);
  const { DAEMON_SLICE_INSTRUCTIONS } = await import(`${DIST}/server/runLoop.js`);
  return serve(new Debuggee({ sliceInstructions: DAEMON_SLICE_INSTRUCTIONS }));
}

async function serve(target, limits = {}) {
  const { DebuggeeServer } = await import(`${DIST}/server/server.js`);
  const { silentLogger } = await import(`${DIST}/log.js`);
  const server = new DebuggeeServer(target, {
    host: '127.0.0.1',
    port: 0,
    mode: 'remote',
    onControllerLoss: 'stay',
    log: silentLogger(),
    limits,
  });
  const { port } = await server.listen();
  return { target, server, port };
}

const TASK_ENV = 'HVDBG_NET_BENCH_TASK';
const CLIENTS_IN_THREAD = process.env.HVDBG_NET_BENCH_CLIENTS === 'thread';

/** Starts the clients' side (a child process, or a worker thread) with one task. */
function startWorker(task) {
  const inbox = [];
  const waiters = [];
  const deliver = (m) => (waiters.length > 0 ? waiters.shift()(m) : inbox.push(m));
  let failed;
  let post;
  let end;
  if (CLIENTS_IN_THREAD) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { netBench: true, ...task } });
    worker.on('message', deliver);
    failed = new Promise((_, reject) => worker.once('error', reject));
    post = (m) => worker.postMessage(m);
    end = () => worker.terminate();
  } else {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [TASK_ENV]: JSON.stringify(task) },
      serialization: 'advanced',
    });
    child.on('message', deliver);
    failed = new Promise((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGTERM') reject(new Error(`bench clients exited: ${code ?? signal}`));
      });
    });
    post = (m) => child.send(m);
    end = () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
  }
  failed.catch(() => {});
  return {
    next: () => Promise.race([failed, new Promise((r) => (inbox.length > 0 ? r(inbox.shift()) : waiters.push(r)))]),
    post,
    end,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes a client may have buffered before the guest waits for it: the run measures what every
 * client receives without loss (the daemon's drop path is exercised by the tests instead).
 */
const PACE_BYTES = 1024 * 1024;

async function throughput(clients, seconds, decodeAll, batchSize = BATCH_RECORDS) {
  let sessions = [];
  const gate = () => {
    for (let i = 0; i < sessions.length; i++) if (sessions[i].channel.buffered > PACE_BYTES) return false;
    return true;
  };
  // A paced guest polls its readers every millisecond instead of the daemon's default idle tick.
  const d = await startDaemon({ logsPerSlice: 0, batchSize, gate }, { idleTickMs: 1 });
  const w = startWorker({ task: 'throughput', port: d.port, clients, decodeAll });
  await w.next(); // all clients welcomed
  sessions = Array.from({ length: clients }, (_, i) => d.server.session(i + 1));
  d.target.logsPerSlice = LOGS_PER_SLICE;
  await sleep(300); // warm-up
  w.post('mark');
  await w.next();
  await sleep(seconds * 1000);
  let drops = 0n;
  for (const s of sessions) drops += s.channel.droppedTotal;
  w.post('mark');
  const result = await w.next();
  d.target.logsPerSlice = 0;
  await w.end();
  await d.server.close('benchmark finished');
  return { perClient: result.perClient, drops: Number(drops) };
}

async function immediateLatency(samples) {
  // One record per emission, stamped with the monotonic clock, every 100 µs.
  const d = await startDaemon({ logsPerSlice: 0, batchSize: 1, stampTime: true, emitIntervalNs: 100_000 });
  const w = startWorker({ task: 'latency', port: d.port, samples });
  await w.next();
  d.target.logsPerSlice = 1;
  const { latenciesNs } = await w.next();
  d.target.logsPerSlice = 0;
  await w.end();
  await d.server.close('benchmark finished');
  return percentiles(latenciesNs.slice(Math.floor(latenciesNs.length / 10)));
}

async function roundTripLatency(count, guest = false) {
  // A running guest logging 10,000 records/s (a busy event, not a flood): requests are served
  // between slices, as in real use, and the client is not kept busy decoding a saturated stream.
  // With `guest`, the real emulated machine instead: a pause then waits for the slice in progress.
  const d = guest
    ? await startGuestDaemon()
    : await startDaemon({ logsPerSlice: 10, batchSize: 10, emitIntervalNs: 1_000_000 });
  const w = startWorker({ task: 'roundtrip', port: d.port, count });
  const { breakNs, continueNs } = await w.next();
  await w.end();
  await d.server.close('benchmark finished');
  return { break: percentiles(breakNs), continue: percentiles(continueNs) };
}

/** The run whose slowest client was fastest. */
async function bestOf(n, once) {
  let best;
  for (let i = 0; i < n; i++) {
    const r = await once();
    if (best === undefined || Math.min(...r.perClient) > Math.min(...best.perClient)) best = r;
  }
  return best;
}

function percentiles(ns) {
  const sorted = Float64Array.from(ns).sort();
  const at = (q) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000, 1);
  return { p50: at(0.5), p99: at(0.99) };
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// -------------------------------------------------------------------------------------------------
// The clients (child process or worker thread)
// -------------------------------------------------------------------------------------------------

async function connect(port, role) {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 4 * 1024 * 1024, perMessageDeflate: false });
  ws.on('error', () => {});
  ws.binaryType = 'nodebuffer';
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const welcomed = new Promise((resolve, reject) => {
    ws.once('message', (data) => {
      const msg = decodeServerMessage(data);
      if (msg.t === 'welcome') resolve(msg);
      else reject(new Error(`refused: ${JSON.stringify(msg)}`));
    });
  });
  ws.send(encodeMessage({ t: 'hello', protocolVersion: 1, role, clientName: `bench-${role}` }));
  await welcomed;
  return ws;
}

/** Byte prefix of every encoded `log` notification, up to the batch's array header. */
const LOG_PREFIX = (() => {
  const empty = encodeMessage({ t: 'log', batch: [] });
  return empty.subarray(0, empty.length - 1); // drop the fixarray(0) header
})();

/** Records in a log frame, read from its array header; -1 when the frame is not a log batch. */
function logCount(buf) {
  const n = LOG_PREFIX.length;
  for (let i = 0; i < n; i++) if (buf[i] !== LOG_PREFIX[i]) return -1;
  const h = buf[n];
  if ((h & 0xf0) === 0x90) return h & 0x0f;
  if (h === 0xdc) return (buf[n + 1] << 8) | buf[n + 2];
  if (h === 0xdd) return buf.readUInt32BE(n + 1);
  return -1;
}

const SAMPLE_EVERY = 256;

async function throughputWorker({ port, clients, decodeAll }) {
  const counts = new Float64Array(clients);
  const sockets = [];
  for (let i = 0; i < clients; i++) {
    const ws = await connect(port, i === 0 ? 'controller' : 'observer');
    let frames = 0;
    ws.on('message', (data) => {
      if (decodeAll || ++frames % SAMPLE_EVERY === 0) {
        const msg = decodeServerMessage(data);
        if (msg.t === 'log') {
          if (!decodeAll && msg.batch.length !== logCount(data)) throw new Error('header count disagrees with decode');
          counts[i] += msg.batch.length;
        }
        return;
      }
      const n = logCount(data);
      if (n > 0) counts[i] += n;
    });
    sockets.push(ws);
  }
  parent.postMessage('ready');
  let marks = 0;
  let start = 0;
  let startCounts;
  parent.on('message', () => {
    marks++;
    if (marks === 1) {
      start = performance.now();
      startCounts = Float64Array.from(counts);
      parent.postMessage('marked');
      return;
    }
    const elapsed = (performance.now() - start) / 1000;
    const perClient = Array.from(counts, (c, i) => (c - startCounts[i]) / elapsed);
    for (const ws of sockets) ws.terminate();
    parent.postMessage({ perClient });
  });
}

async function latencyWorker({ port, samples }) {
  const ws = await connect(port, 'controller');
  const latenciesNs = [];
  ws.on('message', (data) => {
    const now = process.hrtime.bigint();
    const msg = decodeServerMessage(data);
    if (msg.t !== 'log' || latenciesNs.length >= samples) return;
    latenciesNs.push(Number(now - msg.batch[0].time));
    if (latenciesNs.length === samples) {
      ws.terminate();
      parent.postMessage({ latenciesNs });
    }
  });
  parent.postMessage('ready');
}

async function roundTripWorker({ port, count }) {
  const ws = await connect(port, 'controller');
  let id = 0;
  let pending;
  ws.on('message', (data) => {
    const msg = decodeServerMessage(data);
    if (pending === undefined) return;
    if (msg.t === 'res' && msg.id === pending.id) pending.res = true;
    if (msg.t === pending.notice) pending.note = true;
    if (pending.res && pending.note) {
      const p = pending;
      pending = undefined;
      p.resolve(Number(process.hrtime.bigint() - p.t0));
    }
  });
  const request = (op, notice) =>
    new Promise((resolve) => {
      pending = { id: ++id, notice, res: false, note: false, resolve, t0: process.hrtime.bigint() };
      ws.send(encodeMessage({ t: 'req', id, op, args: {} }));
    });
  const breakNs = [];
  const continueNs = [];
  for (let i = 0; i < count + 20; i++) {
    const b = await request('exec.pause', 'halted');
    const c = await request('exec.continue', 'resumed');
    // The first rounds warm up the JIT on both sides.
    if (i >= 20) {
      breakNs.push(b);
      continueNs.push(c);
    }
  }
  ws.terminate();
  parent.postMessage({ breakNs, continueNs });
}

/** The clients' link to the daemon side: the worker port, or the child's IPC channel. */
const parent = !isMainThread
  ? parentPort
  : process.env[TASK_ENV] !== undefined
    ? { postMessage: (m) => process.send(m), on: (ev, f) => process.on(ev, f) }
    : undefined;

const TASKS = { throughput: throughputWorker, latency: latencyWorker, roundtrip: roundTripWorker };
if (!isMainThread && workerData?.netBench) TASKS[workerData.task](workerData);
if (isMainThread && process.env[TASK_ENV] !== undefined) {
  const task = JSON.parse(process.env[TASK_ENV]);
  TASKS[task.task](task);
}

// `node bench/net.mjs [--smoke]` runs it alone and prints one JSON line.
if (
  isMainThread &&
  process.env[TASK_ENV] === undefined &&
  process.argv[1] &&
  new URL(import.meta.url).pathname === process.argv[1]
) {
  const { figures } = await run({ smoke: process.argv.includes('--smoke') });
  console.log(JSON.stringify(figures));
}
