// Fuzz child: writes real tensor and module files with the addon (sealed, and the same archives without
// the torchnas trailer, as older versions and torch::save wrote them), then for calls start..end-1 of the
// sequence `seed` fixes flips, inserts, deletes or truncates bytes and loads the result. Each load must
// end in a result or FILE_CORRUPT. Progress and result files as in native-args.js.
// Usage: node tensor-files.js <seed> <start> <end> <progress file> <result file>
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadBinding, TorchnasError, rng } = require('./binding');

const [seed, start, end] = process.argv.slice(2, 5).map(Number);
const [progressPath, resultPath] = process.argv.slice(5, 7);
const b = loadBinding();
const progress = fs.openSync(progressPath, 'a');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-fuzz-files-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const TRAILER = 105;
function unseal(bytes) {
  const zip = Buffer.from(bytes.subarray(0, bytes.length - TRAILER));
  zip.writeUInt16LE(0, zip.length - 2);
  return zip;
}

async function bases() {
  const tensors = path.join(dir, 'tensors.pt');
  await b.saveTensors(tensors, {
    weight: new b.Tensor(Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)), [3, 4, 5]),
    index: new b.Tensor(BigInt64Array.from([1n, -2n, 3n]), [3]),
    mask: new b.Tensor(new Uint8Array([1, 0, 1, 1]), [2, 2]),
  });
  const module = path.join(dir, 'module.pt');
  await new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 5 }).save(module);
  const t = fs.readFileSync(tensors);
  const m = fs.readFileSync(module);
  return [
    { name: 'tensors (sealed)', kind: 'tensors', bytes: t },
    { name: 'tensors (no trailer)', kind: 'tensors', bytes: unseal(t) },
    { name: 'module (sealed)', kind: 'module', bytes: m },
    { name: 'module (no trailer)', kind: 'module', bytes: unseal(m) },
  ];
}

function mutate(bytes, r) {
  const pos = () => Math.floor(r() * bytes.length);
  const kind = ['flip', 'flip', 'flips', 'insert', 'delete', 'truncate', 'byte'][Math.floor(r() * 7)];
  let out = Buffer.from(bytes);
  let what;
  if (kind === 'flip') {
    const p = pos(), bit = Math.floor(r() * 8);
    out[p] ^= 1 << bit;
    what = `flip bit ${bit} of byte ${p}`;
  } else if (kind === 'flips') {
    const n = 2 + Math.floor(r() * 8);
    const ps = Array.from({ length: n }, pos);
    for (const p of ps) out[p] ^= 1 + Math.floor(r() * 255);
    what = `change bytes ${ps.join(',')}`;
  } else if (kind === 'byte') {
    const p = pos(), v = [0, 0xff, 0x7f, 0x80][Math.floor(r() * 4)];
    out[p] = v;
    what = `set byte ${p} to ${v}`;
  } else if (kind === 'insert') {
    const p = pos(), n = 1 + Math.floor(r() * 16);
    out = Buffer.concat([bytes.subarray(0, p), Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))), bytes.subarray(p)]);
    what = `insert ${n} bytes at ${p}`;
  } else if (kind === 'delete') {
    const p = pos(), n = 1 + Math.floor(r() * 16);
    out = Buffer.concat([bytes.subarray(0, p), bytes.subarray(p + n)]);
    what = `delete ${n} bytes at ${p}`;
  } else {
    const p = pos();
    out = bytes.subarray(0, p);
    what = `truncate to ${p} bytes`;
  }
  return { out, what };
}

async function main() {
  const all = await bases();
  const cnn = new b.SmallCnn({ inChannels: 1, imageSize: 8, numClasses: 3, seed: 9 });
  const outcomes = {};
  const violations = [];
  const file = path.join(dir, 'mutated.pt');
  for (let i = start; i < end; ++i) {
    const r = rng((seed * 1000003 + i) >>> 0);
    const base = all[i % all.length];
    const { out, what } = mutate(base.bytes, r);
    fs.writeFileSync(file, out);
    const call = `${base.name}: ${what}`;
    fs.writeSync(progress, `${i}\t${base.name}\t${call}\n`);
    let outcome;
    try {
      if (base.kind === 'tensors') {
        const loaded = await b.loadTensors(file);
        for (const t of Object.values(loaded)) t.toArray();
      } else {
        await cnn.load(file);
      }
      outcome = 'result';
    } catch (e) {
      if (e instanceof TorchnasError && e.code === 'FILE_CORRUPT') outcome = 'FILE_CORRUPT';
      else {
        outcome = 'VIOLATION';
        violations.push({ index: i, target: base.name, call, error: `${e && e.name} ${e && e.code}: ${String(e && e.message).slice(0, 300)}` });
      }
    }
    const key = `${base.name} -> ${outcome}`;
    outcomes[key] = (outcomes[key] || 0) + 1;
  }
  fs.writeFileSync(resultPath, JSON.stringify({ outcomes, violations, targets: all.map((x) => x.name) }));
}

main().then(
  () => process.exit(0),
  (e) => {
    fs.writeSync(progress, `harness error: ${e && e.stack}\n`);
    process.exit(3);
  },
);
