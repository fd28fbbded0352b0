import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildNb201CellDataset,
  NAR_NB201_NETWORKS,
  Nb201CellInfoRecord,
  nb201CellInfoRecord,
  pythonFloatText,
  serializeNb201CellDataset,
  writeNb201CellDataset,
} from '../../src/benchmarks/nar-nb201-dataset';
import { readNb201CellInfo } from '../../src/benchmarks/nar-nb201-reader';
import { enumerateNb201, nb201Cost, nb201FvcoreCost, parseNb201String } from '../../src/spaces/nb201';

const EXAMPLE_FILE = path.join(__dirname, '..', 'fixtures', 'nar', 'nb201-example.json');
/** The literal example entry of nar.md §1.2 (index 0), as the spec prints it. */
const example = (JSON.parse(fs.readFileSync(EXAMPLE_FILE, 'utf8')) as Record<string, Record<string, unknown>>)['0'];
const NETS = ['cifar10-valid', 'cifar100', 'ImageNet16-120'] as const;
const COST_FIELDS = NETS.flatMap((n) => [`${n}_total_flops`, `${n}_total_params`, `${n}_opt_flops`, `${n}_opt_params`]);

let records: Nb201CellInfoRecord[];
let buildSeconds: number;
let tmp: string;

beforeAll(async () => {
  const started = process.hrtime.bigint();
  records = await buildNb201CellDataset({ table: 'nb201' });
  buildSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-nar-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const field = (r: Nb201CellInfoRecord, name: string): unknown => (r as unknown as Record<string, unknown>)[name];

describe('NB201 cell-information dataset regenerated from the NCP table (nar.md §7.1)', () => {
  test('15,625 records built in a few seconds', () => {
    expect(records).toHaveLength(15625);
    expect(buildSeconds).toBeLessThan(60); // ~2 s measured; a loose bound only
  });

  test('index 0 equals the §1.2 example in every cost field, cell_adjacency and arch_str; the field order is the example\'s', () => {
    const r = records[0];
    for (const name of [...COST_FIELDS, 'cell_adjacency', 'arch_str']) expect([name, field(r, name)]).toEqual([name, example[name]]);
    expect(Object.keys(r)).toEqual(Object.keys(example));
    // the cell keys in the example's order (cells0..4, 6..10, 12..16)
    expect(Object.keys(r['cifar100_opt_flops'])).toEqual(Object.keys(example['cifar100_opt_flops'] as object));
  });

  test('index 0 accuracies: NCP Acc as both ImageNet16 accuracies, nulls elsewhere', () => {
    const r = records[0];
    expect(r.imagenet16_val_acc).toBe(25.766666615804038);
    expect(r.imagenet16_test_acc).toBe(25.766666615804038);
    for (const name of ['cifar10_val_acc', 'cifar10_test_acc', 'cifar100_val_acc', 'cifar100_test_acc', 'cifar10_latency', 'cifar100_latency', 'imagenet16_latency']) {
      expect([name, field(r, name)]).toEqual([name, null]);
    }
  });

  test('index 1: adjacency, arch string, totals of the three networks, accuracy', () => {
    const r = records[1];
    expect(r.arch_str).toBe('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|');
    expect(r.cell_adjacency).toEqual([
      [0, 3, 3, 1],
      [0, 0, 4, 3],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
    expect([r['cifar10-valid_total_flops'], r['cifar10-valid_total_params']]).toEqual([114905728, 802426]);
    expect([r.cifar100_total_flops, r.cifar100_total_params]).toEqual([114911488, 808276]);
    expect([r['ImageNet16-120_total_flops'], r['ImageNet16-120_total_params']]).toEqual([28733952, 809576]);
    expect(r.imagenet16_test_acc).toBe(45.43333318074544);
  });

  test('sums over all 15,625 of the totals, and the ImageNet16-120 ranges', () => {
    const sum = (name: string) => records.reduce((s, r) => s + (field(r, name) as number), 0);
    expect([sum('cifar10-valid_total_flops'), sum('cifar10-valid_total_params')]).toEqual([871114000000, 6227406250]);
    expect([sum('cifar100_total_flops'), sum('cifar100_total_params')]).toEqual([871204000000, 6318812500]);
    expect([sum('ImageNet16-120_total_flops'), sum('ImageNet16-120_total_params')]).toEqual([217896000000, 6339125000]);
    const flops = records.map((r) => r['ImageNet16-120_total_flops']);
    const params = records.map((r) => r['ImageNet16-120_total_params']);
    expect([Math.min(...flops), Math.max(...flops)]).toEqual([1976832, 55491072]);
    expect([Math.min(...params), Math.max(...params)]).toEqual([80456, 1538696]);
  });

  test('every total = base + n1·(conv1x1 increment) + n3·(conv3x3 increment) of the §3 table; per-edge values are the §3 figures', () => {
    const table = {
      'cifar10-valid': { flops: [7877248, 4218880, 35676160], params: [73306, 28000, 243040], edge1: [294912, 278528, 270336], edge3: [2392064, 2375680, 2367488] },
      cifar100: { flops: [7883008, 4218880, 35676160], params: [79156, 28000, 243040], edge1: [294912, 278528, 270336], edge3: [2392064, 2375680, 2367488] },
      'ImageNet16-120': { flops: [1976832, 1054720, 8919040], params: [80456, 28000, 243040], edge1: [73728, 69632, 67584], edge3: [598016, 593920, 591872] },
    };
    const edgeParams1 = [288, 1088, 4224];
    const edgeParams3 = [2336, 9280, 36992];
    let wrong = 0;
    records.forEach((r) => {
      const ops = parseNb201String(r.arch_str);
      const n1 = ops.filter((o) => o === 2).length;
      const n3 = ops.filter((o) => o === 3).length;
      for (const net of NETS) {
        const t = table[net];
        if (field(r, `${net}_total_flops`) !== t.flops[0] + n1 * t.flops[1] + n3 * t.flops[2]) wrong++;
        if (field(r, `${net}_total_params`) !== t.params[0] + n1 * t.params[1] + n3 * t.params[2]) wrong++;
        const opFlops = field(r, `${net}_opt_flops`) as Record<string, number[]>;
        const opParams = field(r, `${net}_opt_params`) as Record<string, number[]>;
        Object.keys(opFlops).forEach((key, cell) => {
          const stage = Math.floor(cell / 5);
          ops.forEach((op, e) => {
            const f = op === 2 ? t.edge1[stage] : op === 3 ? t.edge3[stage] : 0;
            const p = op === 2 ? edgeParams1[stage] : op === 3 ? edgeParams3[stage] : 0;
            if (opFlops[key][e] !== f || opParams[key][e] !== p) wrong++;
          });
        });
      }
    });
    expect(wrong).toBe(0);
  });

  test('cell_adjacency and arch_str agree for every record; all 15,625 architectures occur once', () => {
    const seen = new Set(records.map((r) => r.arch_str));
    expect(seen.size).toBe(15625);
    const edges = [[0, 1], [0, 2], [1, 2], [0, 3], [1, 3], [2, 3]];
    const disagree = records.filter((r) => {
      const ops = parseNb201String(r.arch_str);
      return edges.some(([from, to], e) => r.cell_adjacency[from][to] !== ops[e]) || r.cell_adjacency.some((row, i) => row.some((v, j) => j <= i && v !== 0));
    });
    expect(disagree).toHaveLength(0);
  });

  test('best accuracy: index 81 with 47.33333327229818', () => {
    let best = 0;
    records.forEach((r, i) => {
      if ((r.imagenet16_test_acc as number) > (records[best].imagenet16_test_acc as number)) best = i;
    });
    expect(best).toBe(81);
    expect(records[81].arch_str).toBe('|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
    expect(records[81].imagenet16_test_acc).toBe(47.33333327229818);
  });

  test('the JSON.stringify form is byte-exact: 59,028,445 bytes, sha256 d9c2a8ed…84bf (§7.1)', async () => {
    const text = serializeNb201CellDataset(records);
    expect(Buffer.byteLength(text)).toBe(59028445);
    expect(createHash('sha256').update(text).digest('hex')).toBe('d9c2a8ed8696cc87f9b182a351c4e32941c09b401942b0eb5ad73eef1e6984bf');
    const file = path.join(tmp, 'nb201-cell-info.json');
    const written = await writeNb201CellDataset(file, records);
    expect(written).toEqual({ file, records: 15625, bytes: 59028445, sha256: 'd9c2a8ed8696cc87f9b182a351c4e32941c09b401942b0eb5ad73eef1e6984bf' });
    expect(fs.statSync(file).size).toBe(59028445);
    expect(fs.readdirSync(tmp)).toEqual(['nb201-cell-info.json']); // no temp left behind
    // the whole file streams back through the NB201 reader to the same records
    const read = await readNb201CellInfo(file);
    expect(read.size).toBe(15625);
    expect([...read.keys()].every((key, i) => key === i)).toBe(true);
    expect(serializeNb201CellDataset(read) === text).toBe(true); // (jest's deep equality is slow on 15,625 records)
  });

  test('the Python form (floats as Python writes them) is byte-exact too: 59,028,505 bytes, sha256 61cc554d…9586 (§7.1)', () => {
    const text = serializeNb201CellDataset(records, { floatStyle: 'python' });
    expect(Buffer.byteLength(text)).toBe(59028505);
    expect(createHash('sha256').update(text).digest('hex')).toBe('61cc554dffaffff407389f172877beef1a50bb393de46f5cba2df20a8b519586');
    // 15 architectures have an integer-valued accuracy, the first at index 274
    const integral = records.flatMap((r, i) => (Number.isInteger(r.imagenet16_test_acc) ? [i] : []));
    expect([integral.length, integral[0]]).toEqual([15, 274]);
    expect(text).toContain(`"274":${serializeNb201CellDataset([records[274]], { floatStyle: 'python' }).slice(5, -1)}`);
    expect(serializeNb201CellDataset([records[274]], { floatStyle: 'python' })).toContain('"imagenet16_val_acc":43.0,"imagenet16_test_acc":43.0,');
    expect(serializeNb201CellDataset([records[274]])).toContain('"imagenet16_val_acc":43,"imagenet16_test_acc":43,');
  });

  test('Python float text: .0 on integral values, exponents below 1e-4 and from 1e16', () => {
    expect([43, 0.0001, 0.00001, 2.5e-5, 1e16, 123.5, 25.766666615804038, 1234567890123456.7, 0, -0, -3].map(pythonFloatText)).toEqual([
      '43.0', '0.0001', '1e-05', '2.5e-05', '1e+16', '123.5', '25.766666615804038', '1234567890123456.8', '0.0', '-0.0', '-3.0',
    ]);
    expect(() => pythonFloatText(NaN)).toThrow(/cannot write NaN as JSON/);
  });

  test('a map of records serializes to the same object keyed by index, in index order', () => {
    const map = new Map<number, Nb201CellInfoRecord>([
      [12, records[12]],
      [3, records[3]],
    ]);
    expect(serializeNb201CellDataset(map)).toBe(JSON.stringify({ 3: records[3], 12: records[12] }));
    expect(Object.keys(JSON.parse(serializeNb201CellDataset(map)) as object)).toEqual(['3', '12']);
  });

  test('fvcore params equal NB201-convention params (nb201Cost) for every cell; FLOPs differ by the BN and pooling terms only', () => {
    let differ = 0;
    for (const ops of enumerateNb201()) {
      const fv = nb201FvcoreCost(ops, { numClasses: 100 });
      const nb = nb201Cost(ops, { numClasses: 100 });
      const n1 = ops.filter((o) => o === 2).length;
      const n3 = ops.filter((o) => o === 3).length;
      // per conv edge fvcore adds its BN (2·C·H² per cell edge: 5 cells × (2·16·32² + 2·32·16² + 2·64·8²) = 286,720);
      // the base adds the BNs of the stem (32,768), the residual blocks (32,768 + 16,384) and the end (8,192), and
      // the global pool (4,096)
      if (fv.totalParams !== nb.params || fv.totalFlops - nb.macs !== 94_208 + (n1 + n3) * 286_720) differ++;
    }
    expect(differ).toBe(0);
  });

  test('a record built for one architecture matches the counter; a bad architecture or table is a clear error', async () => {
    const r = nb201CellInfoRecord([3, 3, 3, 3, 3, 3], { cifar10_test_acc: 90.5 });
    expect(r['ImageNet16-120_total_flops']).toBe(55491072);
    expect(r['ImageNet16-120_total_params']).toBe(1538696);
    expect(r.cifar10_test_acc).toBe(90.5);
    expect(r.cifar10_val_acc).toBeNull();
    const cost = nb201FvcoreCost([3, 3, 3, 3, 3, 3], { numClasses: NAR_NB201_NETWORKS[1].classes });
    expect(r.cifar100_total_flops).toBe(cost.totalFlops);
    expect(() => nb201CellInfoRecord([0, 1, 2, 3, 4, 5])).toThrow(expect.objectContaining({ code: 'INVALID_CODE', message: expect.stringContaining('edge 3<-2') }));
    await expect(buildNb201CellDataset({ table: path.join(tmp, 'absent.pkl') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify([{ embedding: new Array(30).fill(0), Acc: 1, Flops: 1, Params: 1 }]));
    await expect(buildNb201CellDataset({ table: bad })).rejects.toMatchObject({ code: 'FILE_CORRUPT' });
  });
});
