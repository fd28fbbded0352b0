// Fuzz child: calls the raw binding's functions, constructors, methods and getters with wrong-typed
// arguments, calls start..end-1 of the sequence that `seed` fixes. Before each call it appends
// "<index>\t<target>\t<call>" to the progress file, so a parent can name the call that killed this process; at the
// end it writes {outcomes, violations} as JSON to the result file.
// Usage: node native-args.js <seed> <start> <end> <progress file> <result file>
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadBinding, TorchnasError, rng } = require('./binding');

const [seed, start, end] = process.argv.slice(2, 5).map(Number);
const [progressPath, resultPath] = process.argv.slice(5, 7);
const b = loadBinding();
const progress = fs.openSync(progressPath, 'a');

/** Thrown by the fuzz's own getters and proxies: passing it through is correct behaviour. */
class FuzzGetterError extends Error {}
const throwing = () => {
  throw new FuzzGetterError('getter threw');
};

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-fuzz-args-'));
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
// Strings such as 'cpu' reach save() as relative paths: let them land in the scratch folder.
process.chdir(scratch);
const fifo = path.join(scratch, 'fifo');
require('node:child_process').spawnSync('mkfifo', [fifo]);

function detached(Ctor) {
  const a = new Ctor(8);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

// Valid instances, so methods and getters are reached with a real `this`.
const FACTORIES = {
  Tensor: () => new b.Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
  CancelToken: () => new b.CancelToken(),
  Generator: () => new b.Generator(7),
  SmallCnn: () => new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 1 }),
  Nb201Network: () => new b.Nb201Network(),
  DartsNetwork: () => new b.DartsNetwork(),
  NcpPredictor: () => new b.NcpPredictor({ inputDim: 27, groups: [1, 1], headDropouts: [0, 0], sharedLayer: 2, separatedLayer: 1 }),
  MultiResolutionNet: () => new b.MultiResolutionNet({ embedding: [8, 8, 1, 1, 8, 1, 1, 1, 8, 8, 1, 1, 1, 1, 8, 8, 8, 1, 1, 1, 1, 1, 8, 8, 8, 8, 8], numClasses: 3 }),
  DenseDerivedNet: () =>
    new b.DenseDerivedNet(
      { netType: 'mbv2', entries: [{ kind: 'block', inChannels: 4, outChannels: 4, headOp: 'mbconv_k3_t1', stackOps: [], stride: 1 }, { kind: 'conv1_1', inChannels: 4, outChannels: 8 }] },
      { inChannels: 1, numClasses: 3 },
    ),
  // A three-block DenseNAS space: 0 → 1 → 2 (conv1_1).
  DenseSuperNet: () =>
    new b.DenseSuperNet(
      {
        netType: 'mbv2', inChannels: 1, numClasses: 3, stemStride: 2, initDim: 4, headDim: 4, lastDim: 8, bn: null,
        headOps: ['mbconv_k3_t3'], stackOps: ['mbconv_k3_t3', 'skip_connect'],
        blocks: [
          { channels: 4, numLayers: 0, predecessors: [], successors: [1] },
          { channels: 6, numLayers: 1, predecessors: [{ from: 0, stride: 2 }], successors: [2] },
          { channels: 8, numLayers: 0, predecessors: [{ from: 1, stride: 1 }], successors: [] },
        ],
      },
      { seed: 1 },
    ),
  NarRanker: () => new b.NarRanker({ nPatch: 31, patchLen: 16, dModel: 8, dInner: 8, nLayers: 1, nHead: 2, dK: 4, dV: 4, dTierInner: 8, dScoreInner: 8, seed: 1 }),
  // a group of one (made in main(): joining is a Promise); close() during the fuzz leaves it DISPOSED, as a user would
  Distributed: () => distributedOfOne,
};
let distributedOfOne = null;
const instances = {};
function instance(cls, fresh) {
  if (fresh || !instances[cls]) {
    try {
      instances[cls] = FACTORIES[cls] ? FACTORIES[cls]() : null;
    } catch {
      instances[cls] = null;
    }
  }
  return instances[cls];
}

// Every function, constructor, prototype method and getter of the binding, in a stable order.
function targets() {
  const out = [];
  for (const name of Object.getOwnPropertyNames(b).sort()) {
    const v = b[name];
    if (typeof v !== 'function') continue;
    const proto = v.prototype;
    const members = proto ? Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor').sort() : [];
    const isClass = /^[A-Z]/.test(name);
    out.push({ name: isClass ? `new ${name}` : name, kind: isClass ? 'constructor' : 'function', fn: v });
    for (const m of members) {
      const d = Object.getOwnPropertyDescriptor(proto, m);
      if (d.get) out.push({ name: `${name}#${m}`, kind: 'getter', cls: name, member: m });
      else if (typeof d.value === 'function') out.push({ name: `${name}#${m}()`, kind: 'method', cls: name, member: m });
    }
  }
  return out;
}

// Wrong-typed values, each with a label for the report.
const VALUES = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['NaN', () => NaN],
  ['-1', () => -1],
  ['0', () => 0],
  ['1', () => 1],
  ['2.5', () => 2.5],
  ['1e12', () => 1e12],
  ['2**53', () => 2 ** 53],
  ['-2**63', () => -(2 ** 63)],
  ['Infinity', () => Infinity],
  ['true', () => true],
  ["''", () => ''],
  ["'cpu'", () => 'cpu'],
  ["'cuda:7'", () => 'cuda:7'],
  ["'x'.repeat(1e5)", () => 'x'.repeat(1e5)],
  ['a directory path', () => scratch],
  // Never a path under /dev: a save() that regressed would replace the device for every process.
  ['a FIFO path', () => fifo],
  ['a missing path', () => path.join(scratch, 'missing', 'file.pt')],
  ['a new file path', () => path.join(scratch, `f${Math.floor(Math.random() * 1e9)}.pt`)],
  ['{}', () => ({})],
  ['{getters throw}', () => Object.defineProperties({}, Object.fromEntries(
    ['lr', 'seed', 'device', 'groups', 'embedding', 'batchSize', 'epochs', 'steps', 'inputDim', 'options', 'setting', 'length', '0']
      .map((k) => [k, { get: throwing, enumerable: true }])))],
  ['Proxy(throws)', () => new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing })],
  ['[]', () => []],
  ['[1,2]', () => [1, 2]],
  ['[NaN]', () => [NaN]],
  ['[-1]', () => [-1]],
  ['[1e12]', () => [1e12]],
  ['[2**53, 2**53]', () => [2 ** 53, 2 ** 53]],
  ["['a', {}]", () => ['a', {}]],
  ['[getter throws]', () => Object.defineProperty([1, 2], '0', { get: throwing })],
  ['sparse [,,] length 2**32-1', () => { const a = []; a.length = 2 ** 32 - 1; return a; }],
  ['Float32Array(4)', () => new Float32Array(4)],
  ['Float64Array(6)', () => new Float64Array(6)],
  ['Int32Array(3)', () => new Int32Array([1, 2, 3])],
  ['BigInt64Array(2)', () => new BigInt64Array(2)],
  ['Uint8Array(0)', () => new Uint8Array(0)],
  ['Int16Array(4)', () => new Int16Array(4)],
  ['detached Float32Array', () => detached(Float32Array)],
  ['detached Uint8Array', () => detached(Uint8Array)],
  ['ArrayBuffer(8)', () => new ArrayBuffer(8)],
  ['DataView', () => new DataView(new ArrayBuffer(8))],
  ['1n', () => 1n],
  ['2n**70n', () => 2n ** 70n],
  ['Symbol()', () => Symbol('fuzz')],
  ['function', () => function f() {}],
  ['arrow', () => () => 1],
  ['class', () => class X {}],
  ['Date', () => new Date(0)],
  ['Promise', () => Promise.resolve(1)],
  ['a Tensor', () => instance('Tensor', true)],
  ['a disposed Tensor', () => { const t = instance('Tensor', true); t.dispose(); return t; }],
  ['a float64 Tensor [1,27]', () => new b.Tensor(new Float64Array(27), [1, 27])],
  ['a CancelToken', () => instance('CancelToken', true)],
];

function describeCall(t, labels) {
  return `${t.name}(${labels.join(', ')})`;
}

async function settle(value) {
  if (!value || typeof value.then !== 'function') return value;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('promise did not settle within 20 s'), { hung: true })), 20000);
  });
  try {
    return await Promise.race([value, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  try {
    if (b.Distributed.available) {
      const server = require('node:net').createServer();
      const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
      await new Promise((resolve) => server.close(resolve));
      distributedOfOne = await b.Distributed.connect({ rank: 0, worldSize: 1, masterPort: port, timeoutMs: 20000 });
    }
  } catch {
    distributedOfOne = null;
  }
  const all = targets();
  const outcomes = {};
  const violations = [];
  const examples = {};
  for (let i = start; i < end; ++i) {
    const r = rng((seed * 1000003 + i) >>> 0);
    const t = all[i % all.length];
    const count = t.kind === 'getter' ? 0 : Math.floor(r() * 5);
    const picks = Array.from({ length: count }, () => VALUES[Math.floor(r() * VALUES.length)]);
    const labels = picks.map(([label]) => label);
    const wrongThis = t.kind !== 'constructor' && t.kind !== 'function' && r() < 0.1;
    const call = (wrongThis ? 'wrong this: ' : '') + describeCall(t, labels);
    fs.writeSync(progress, `${i}\t${t.name}\t${call}\n`);
    let outcome;
    try {
      const args = picks.map(([, make]) => make());
      let result;
      if (t.kind === 'function') result = t.fn(...args);
      else if (t.kind === 'constructor') result = new t.fn(...args);
      else {
        const self = wrongThis ? {} : instance(t.cls, t.cls === 'Tensor' || i % 50 === 0);
        if (self === null) throw new Error(`no instance of ${t.cls}`);
        const proto = b[t.cls].prototype;
        if (t.kind === 'getter') result = Object.getOwnPropertyDescriptor(proto, t.member).get.call(self);
        else result = proto[t.member].apply(self, args);
      }
      await settle(result);
      // An error class that setErrorClass accepted must still let the next native failure through.
      if (t.name === 'setErrorClass') {
        try {
          b.checkDevice(1);
        } catch (e) {
          if (e === undefined || e === null) throw new Error('a native failure threw nothing');
        }
      }
      outcome = 'ok';
    } catch (e) {
      if (e instanceof TorchnasError) outcome = `TorchnasError ${e.code}`;
      else if (e instanceof FuzzGetterError) outcome = 'the fuzz getter error, passed through';
      // V8's own receiver check (DefineClass signatures) refuses a wrong `this` before native code runs.
      else if (wrongThis && e instanceof TypeError && /Illegal invocation/.test(e.message)) outcome = 'V8 receiver check';
      else {
        outcome = 'VIOLATION';
        violations.push({ index: i, target: t.name, call, error: `${e && e.constructor ? e.constructor.name : typeof e}: ${String(e && e.message).slice(0, 200)}` });
      }
    } finally {
      // Undo what a successful call may have changed for the rest of the run.
      b.setErrorClass(TorchnasError);
      b.setThreads(1);
    }
    outcomes[outcome] = (outcomes[outcome] || 0) + 1;
    examples[outcome] ??= call;
  }
  fs.writeFileSync(resultPath, JSON.stringify({ outcomes, examples, violations, targets: all.map((t) => t.name) }));
}

main().then(
  () => process.exit(0),
  (e) => {
    fs.writeSync(progress, `harness error: ${e && e.stack}\n`);
    process.exit(3);
  },
);
