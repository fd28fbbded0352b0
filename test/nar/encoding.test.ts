// NAR feature tensors (nar.md §2.1, §2.2), sampler sequences (§2.4) and tier buckets (§2.3). The expected tensors
// are written by hand from the spec's rules, not produced by the encoder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nb201CellInfoRecord } from '../../src/benchmarks/nar-nb201-dataset';
import {
  nb101CellToSequence,
  nb101FeatureTensor,
  nb101SequenceToCell,
  nb201EdgesToString,
  nb201EdgesTypeCounts,
  nb201FeatureTensor,
  nb201RecordFeatureTensor,
  nb201StringToEdges,
  NB101_FEATURE_SHAPE,
  NB201_FEATURE_SHAPE,
} from '../../src/spaces/nar';
import { parseNb201String } from '../../src/spaces/nb201';
import { TierBuckets } from '../../src/methods/nar/tier-buckets';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'nar');
type Json = Record<string, unknown>;
const nb101Example = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'nb101-example.json'), 'utf8')) as Json[])[0];
const nb201Example = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'nb201-example.json'), 'utf8')) as Record<string, Json>)['0'];

/** Channel c of a C×n×n tensor as a Float32Array. */
const channel = (data: Float32Array, c: number, n: number) => data.subarray(c * n * n, (c + 1) * n * n);
const f32 = (rows: number[][]) => Float32Array.from(rows.flat());
const Z7 = [0, 0, 0, 0, 0, 0, 0];

describe('NB101 19×7×7 feature tensor (§2.1)', () => {
  const t = nb101FeatureTensor(nb101Example as never);

  test('shape 19×7×7', () => {
    expect(t.shape).toEqual([19, 7, 7]);
    expect(NB101_FEATURE_SHAPE).toEqual([19, 7, 7]);
    expect(t.data).toHaveLength(19 * 49);
  });

  test('channel 0: each edge carries the op code of its destination vertex (output 5, no code 1)', () => {
    expect(channel(t.data, 0, 7)).toEqual(
      f32([
        [0, 3, 0, 0, 3, 2, 0],
        [0, 0, 4, 0, 0, 0, 0],
        [0, 0, 0, 3, 0, 0, 5],
        [0, 0, 0, 0, 0, 2, 0],
        [0, 0, 0, 0, 0, 2, 0],
        [0, 0, 0, 0, 0, 0, 5],
        Z7,
      ]),
    );
  });

  test('channels 1, 2 (stack0/module0 FLOPs/1e7, params/1e5), 7 (stack1/module0 FLOPs) and 18 (stack2/module2 params)', () => {
    expect(channel(t.data, 1, 7)).toEqual(
      f32([
        [0, 9.2274688, 0, 0, 9.2274688, 2.5296896, 0],
        [0, 0, 0.0589824, 0, 0, 0, 0],
        [0, 0, 0, 7.5497472, 0, 0, 0],
        [0, 0, 0, 0, 0, 2.5296896, 0],
        [0, 0, 0, 0, 0, 2.5296896, 0],
        Z7,
        Z7,
      ]),
    );
    expect(channel(t.data, 2, 7)).toEqual(
      f32([
        [0, 0.45312, 0, 0, 0.45312, 0.12544, 0],
        Z7,
        [0, 0, 0, 0.36992, 0, 0, 0],
        [0, 0, 0, 0, 0, 0.12544, 0],
        [0, 0, 0, 0, 0, 0.12544, 0],
        Z7,
        Z7,
      ]),
    );
    expect(channel(t.data, 7, 7)).toEqual(
      f32([
        [0, 8.388608, 0, 0, 8.388608, 1.6842752, 0],
        [0, 0, 0.0294912, 0, 0, 0, 0],
        [0, 0, 0, 7.5497472, 0, 0, 0],
        [0, 0, 0, 0, 0, 1.6842752, 0],
        [0, 0, 0, 0, 0, 1.6842752, 0],
        Z7,
        Z7,
      ]),
    );
    expect(channel(t.data, 18, 7)).toEqual(
      f32([
        [0, 7.2192, 0, 0, 7.2192, 1.97632, 0],
        Z7,
        [0, 0, 0, 5.90336, 0, 0, 0],
        [0, 0, 0, 0, 0, 1.97632, 0],
        [0, 0, 0, 0, 0, 1.97632, 0],
        Z7,
        Z7,
      ]),
    );
  });

  test('a 5-vertex cell: zero rows/columns inserted just before the output, which moves to index 6; modules in stack/module order', () => {
    const keys = [0, 1, 2].flatMap((s) => [0, 1, 2].map((m) => `stack${s}/module${m}`));
    const record = {
      module_adjacency: [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ],
      module_operations: ['input', 'conv1x1-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'output'],
      // module m: vertex 1 costs (m+1)·1e7 FLOPs and (m+1)·1e5 params; vertex 3 costs 3e7 / 3e5
      vertex_flops: Object.fromEntries(keys.map((k, m) => [k, [0, (m + 1) * 1e7, 2e7, 3e7, 0]])),
      vertex_params: Object.fromEntries(keys.map((k, m) => [k, [0, (m + 1) * 1e5, 0, 3e5, 0]])),
    };
    const p = nb101FeatureTensor(record);
    expect(channel(p.data, 0, 7)).toEqual(
      f32([
        [0, 2, 4, 0, 0, 0, 0],
        [0, 0, 0, 3, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 5],
        [0, 0, 0, 0, 0, 0, 5],
        Z7,
        Z7,
        Z7,
      ]),
    );
    expect(channel(p.data, 1, 7)).toEqual(f32([[0, 1, 2, 0, 0, 0, 0], [0, 0, 0, 3, 0, 0, 0], Z7, Z7, Z7, Z7, Z7]));
    expect(channel(p.data, 2, 7)).toEqual(f32([[0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 3, 0, 0, 0], Z7, Z7, Z7, Z7, Z7]));
    expect(channel(p.data, 17, 7)).toEqual(f32([[0, 9, 2, 0, 0, 0, 0], [0, 0, 0, 3, 0, 0, 0], Z7, Z7, Z7, Z7, Z7]));
    expect(channel(p.data, 18, 7)).toEqual(f32([[0, 9, 0, 0, 0, 0, 0], [0, 0, 0, 3, 0, 0, 0], Z7, Z7, Z7, Z7, Z7]));
  });

  test('malformed input is INVALID_CODE naming the field', () => {
    const bad = { ...nb101Example, vertex_flops: { ...(nb101Example.vertex_flops as Json), 'stack1/module1': [1, 2] } };
    expect(() => nb101FeatureTensor(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_CODE', message: expect.stringContaining("vertex_flops['stack1/module1'] must be 7 finite numbers") }));
    expect(() => nb101FeatureTensor({ ...nb101Example, module_operations: ['input', 'output'] } as never)).toThrow(/expected 7 op names/);
  });
});

describe('NB201 31×4×4 feature tensor (§2.2)', () => {
  test('index 0 (the §1.2 example), cifar10-valid and ImageNet16-120: raw values at [from][to], no scaling', () => {
    const t = nb201RecordFeatureTensor(nb201Example as never, 'cifar10-valid');
    expect(t.shape).toEqual([31, 4, 4]);
    expect(NB201_FEATURE_SHAPE).toEqual([31, 4, 4]);
    const zero = [0, 0, 0, 0];
    expect(channel(t.data, 0, 4)).toEqual(f32([[0, 4, 2, 2], [0, 0, 1, 1], [0, 0, 0, 1], zero]));
    expect(channel(t.data, 1, 4)).toEqual(f32([[0, 0, 294912, 294912], zero, zero, zero]));
    expect(channel(t.data, 2, 4)).toEqual(f32([[0, 0, 288, 288], zero, zero, zero]));
    expect(channel(t.data, 11, 4)).toEqual(f32([[0, 0, 278528, 278528], zero, zero, zero])); // cells6
    expect(channel(t.data, 30, 4)).toEqual(f32([[0, 0, 4224, 4224], zero, zero, zero])); // cells16 params
    const imagenet = nb201RecordFeatureTensor(nb201Example as never, 'ImageNet16-120');
    expect(channel(imagenet.data, 1, 4)).toEqual(f32([[0, 0, 73728, 73728], zero, zero, zero]));
    expect(channel(imagenet.data, 29, 4)).toEqual(f32([[0, 0, 67584, 67584], zero, zero, zero]));
  });

  test('edge k of each 6-list goes to (0,1),(0,2),(1,2),(0,3),(1,3),(2,3); cells in cells0…cells16 order', () => {
    const keys = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16].map((p) => `cells${p}`);
    const flops = Object.fromEntries(keys.map((k, c) => [k, [1, 2, 3, 4, 5, 6].map((v) => v + 100 * c)]));
    const params = Object.fromEntries(keys.map((k, c) => [k, [1, 2, 3, 4, 5, 6].map((v) => -v - 100 * c)]));
    const record = { cell_adjacency: [[0, 3, 3, 1], [0, 0, 4, 3], [0, 0, 0, 1], [0, 0, 0, 0]], arch_str: '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|' };
    const t = nb201FeatureTensor(record, flops, params);
    expect(channel(t.data, 0, 4)).toEqual(f32(record.cell_adjacency));
    expect(channel(t.data, 1, 4)).toEqual(f32([[0, 1, 2, 4], [0, 0, 3, 5], [0, 0, 0, 6], [0, 0, 0, 0]]));
    expect(channel(t.data, 2, 4)).toEqual(f32([[0, -1, -2, -4], [0, 0, -3, -5], [0, 0, 0, -6], [0, 0, 0, 0]]));
    expect(channel(t.data, 29, 4)).toEqual(f32([[0, 1401, 1402, 1404], [0, 0, 1403, 1405], [0, 0, 0, 1406], [0, 0, 0, 0]]));
  });

  test('index 1 built by our counter, cifar10-valid: conv3x3 edges carry 2,392,064 FLOPs', () => {
    const record = nb201CellInfoRecord(parseNb201String('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'));
    const t = nb201RecordFeatureTensor(record as never, 'cifar10-valid');
    const c3 = 2392064;
    expect(channel(t.data, 1, 4)).toEqual(f32([[0, c3, c3, 0], [0, 0, 0, c3], [0, 0, 0, 0], [0, 0, 0, 0]]));
    expect(channel(t.data, 30, 4)).toEqual(f32([[0, 36992, 36992, 0], [0, 0, 0, 36992], [0, 0, 0, 0], [0, 0, 0, 0]]));
  });

  test('edges_type_counts in NAR code order: index 0 → [0, 3, 2, 0, 1]', () => {
    expect(nb201EdgesTypeCounts(nb201Example.arch_str as string)).toEqual([0, 3, 2, 0, 1]);
    expect(nb201EdgesTypeCounts('|none~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|')).toEqual([4, 0, 0, 1, 1]);
  });

  test('bad input: a 3×3 adjacency, a short edge list, a network the record lacks', () => {
    expect(() => nb201FeatureTensor({ cell_adjacency: [[0, 1, 1], [0, 0, 1], [0, 0, 0]], arch_str: nb201Example.arch_str as string }, {}, {})).toThrow(/cell_adjacency must be 4×4/);
    const flops = { ...(nb201Example['cifar100_opt_flops'] as Json), cells7: [1, 2] };
    expect(() => nb201FeatureTensor(nb201Example as never, flops as never, nb201Example['cifar100_opt_params'] as never)).toThrow(/opt_flops\['cells7'\] must be 6 finite numbers/);
    expect(() => nb201RecordFeatureTensor({ cell_adjacency: nb201Example.cell_adjacency, arch_str: nb201Example.arch_str } as never, 'cifar100')).toThrow(/has no cifar100_opt_flops/);
  });
});

describe('sampler sequences ⇄ architectures (§2.4)', () => {
  test('NB101: [n, pred_1, op_1, …, pred_{n-1}, begin, end, …] decodes to the cell; null pairs are skipped', () => {
    expect(nb101SequenceToCell([5, 0, 2, 0, 4, 1, 3, 2, 3, 4, null, null])).toEqual({
      matrix: [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
      ],
      ops: ['input', 'conv1x1-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'output'],
    });
  });

  test('NB101: the §1.1 example as a sequence and back', () => {
    const cell = { matrix: nb101Example.module_adjacency as number[][], ops: nb101Example.module_operations as never[] };
    const sequence = nb101CellToSequence(cell);
    expect(sequence).toEqual([7, 0, 3, 1, 4, 2, 3, 0, 3, 0, 2, 2, 3, 5, 4, 5, 5, 6]);
    expect(nb101SequenceToCell(sequence)).toEqual(cell);
  });

  test.each([
    [[8], /vertex count \(entry 0\) must be 2..7/],
    [[4, 0, 2, 1], /4 vertices need at least 6 entries/],
    [[3, 0, 2, 1, 0], /must come as \(begin, end\) pairs/],
    [[3, 1, 2, 1], /entry 1 \(predecessor of vertex 1\) must be a vertex 0..0, got 1/],
    [[3, 0, 5, 1], /entry 2 \(op of vertex 1\) must be 2 \(conv1x1\), 3 \(conv3x3\) or 4 \(maxpool3x3\), got 5/],
    [[3, 0, 2, 1, 2, 1], /entries 4, 5 \(extra edge 2→1\) must be vertices with 0 ≤ begin < end < 3/],
  ])('NB101 sequence %j: INVALID_CODE %p', (sequence, message) => {
    expect(() => nb101SequenceToCell(sequence)).toThrow(expect.objectContaining({ code: 'INVALID_CODE', message: expect.stringMatching(message) }));
  });

  test('NB101: a cell with a vertex lacking an incoming edge cannot be written as a sequence', () => {
    expect(() => nb101CellToSequence({ matrix: [[0, 0, 1], [0, 0, 1], [0, 0, 0]], ops: ['input', 'maxpool3x3', 'output'] })).toThrow(/vertex 1 has no incoming edge/);
  });

  test('NB201: per-node (op, source) lists ⇄ arch string', () => {
    const nodes: [string, number][][] = [
      [['avg_pool_3x3', 0]],
      [['nor_conv_1x1', 0], ['skip_connect', 1]],
      [['nor_conv_1x1', 0], ['skip_connect', 1], ['skip_connect', 2]],
    ];
    expect(nb201EdgesToString(nodes)).toBe('|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|');
    expect(nb201StringToEdges(nb201Example.arch_str as string)).toEqual(nodes);
    expect(() => nb201EdgesToString([[['conv', 0]], [], []])).toThrow(expect.objectContaining({ code: 'INVALID_CODE', message: expect.stringContaining('unknown op "conv"') }));
  });
});

describe('tier buckets (§2.3)', () => {
  test('running mean per tier over all architectures added; zeros while empty; stacked tiers × patches × dim', () => {
    const b = new TierBuckets({ patches: 2, modelDim: 3 });
    expect(b.tiers).toBe(5);
    b.add(1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // two architectures
    expect(b.count(1)).toBe(2);
    expect(b.mean(1)).toEqual(Float32Array.from([4, 5, 6, 7, 8, 9]));
    b.add(1, new Float32Array([10, 10, 10, 10, 10, 10]));
    expect(b.mean(1)).toEqual(Float32Array.from([6, 20 / 3, 22 / 3, 8, 26 / 3, 28 / 3]));
    expect(b.mean(0)).toEqual(new Float32Array(6));
    const stacked = b.stacked();
    expect(stacked).toHaveLength(30);
    expect(stacked.subarray(6, 12)).toEqual(b.mean(1));
    expect(Array.from(stacked.subarray(0, 6)).concat(Array.from(stacked.subarray(12)))).toEqual(new Array(24).fill(0));
    b.setCounts(4, { params: [1, 2], flops: [3, 4], edges: [0, 1, 2, 3, 4] });
    expect(b.getCounts(4)).toEqual({ params: [1, 2], flops: [3, 4], edges: [0, 1, 2, 3, 4] });
    b.reset();
    expect([b.count(1), b.getCounts(4)]).toEqual([0, undefined]);
    expect(b.mean(1)).toEqual(new Float32Array(6));
  });

  test('wrong tier, wrong length, bad sizes', () => {
    const b = new TierBuckets({ patches: 2, modelDim: 3 });
    expect(() => b.add(5, new Float32Array(6))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('tier must be an integer in 0..4, got 5') }));
    expect(() => b.add(0, new Float32Array(7))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => b.add(0, [])).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    expect(() => new TierBuckets({ patches: 0, modelDim: 3 })).toThrow(/patches must be a positive integer/);
  });
});
