/**
 * The benchmark as NAR's search (nar.md §5) sees it: per architecture its costs (total FLOPs and params of the
 * configured network), validation and test accuracy, global rank by test accuracy, the statistic the tier histograms
 * use besides costs (NB201 op counts, NB101 vertex counts), its feature tensor, and a lookup from a sampled cell to its
 * position. Built from NAR's cell-information records (§1.1, §1.2).
 */
import { TorchnasError, showValue } from '../../core/errors';
import type { Nb101CellInfoRecord } from '../../benchmarks/nar-nb101-reader';
import type { Nb201CellInfoRecord, Nb201CellInfoRecords } from '../../benchmarks/nar-nb201-dataset';
import { nb101FeatureTensor, nb201FeatureTensor, NB101_FEATURE_SHAPE, NB201_FEATURE_SHAPE, nb201EdgesTypeCounts } from '../../spaces/nar';
import { NB201_CELL_KEYS, NB201_EDGES, NB201_NUM_OPS, nb201Ordinal, parseNb201String, NB201_NUM_ARCHS } from '../../spaces/nb201';
import { Nb101Cell, nb101CellHash } from '../../spaces/nb101';

/** NAR's `network_type` of NB201 (§4.5): whose costs and accuracies are used. */
export type NarNb201NetworkType = 'cifar10' | 'cifar100' | 'imagenet16';

const NB201_COST_PREFIX: Readonly<Record<NarNb201NetworkType, string>> = { cifar10: 'cifar10-valid', cifar100: 'cifar100', imagenet16: 'ImageNet16-120' };

/** What the search reads of the benchmark. Positions are 0..size−1; `ids` maps them to the records' own ids. */
export interface NarSearchBenchmark {
  readonly space: 'nb201' | 'nb101';
  readonly size: number;
  /** Record id of each position: the NB201 index (NB201), the position in the file / list given (NB101). */
  readonly ids: Int32Array;
  /** Total FLOPs and params (raw counts) of the network the accuracies belong to. */
  readonly flops: Float64Array;
  readonly params: Float64Array;
  readonly valAcc: Float64Array;
  readonly testAcc: Float64Array;
  /** 1-based rank by test accuracy, descending (ties in position order), over all `size` architectures. */
  readonly rank: Int32Array;
  /** NB201: `edges_type_counts` (§2.2), size × 5. */
  readonly edges?: Uint8Array;
  /** NB101: vertex count of each cell. */
  readonly nodes?: Uint8Array;
  /** Values per feature tensor (31·4·4 or 19·7·7). */
  readonly featureLength: number;
  /** Writes position `p`'s feature tensor at out[offset …]. */
  writeFeatures(p: number, out: Float32Array, offset: number): void;
  /** A readable name of position `p`: the NB201 arch string or the NB101 hash. */
  describe(p: number): string;
  /** Position of a record id (as in {@link NarBatchRecord.indices}), or undefined when the benchmark lacks it. */
  positionOfId(id: number): number | undefined;
  /** NB201: position of an architecture given as 6 op indices (arch-string edge order), or undefined. */
  lookupNb201?(ops: readonly number[]): number | undefined;
  /** NB101: position of a pruned cell, or undefined when the benchmark has no record of that hash. */
  lookupNb101?(cell: Nb101Cell): number | undefined;
}

/** 1-based ranks by value descending; ties keep position order (a stable sort, as NAR's loader ranks). */
export function ranksByDescending(values: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  const rank = new Int32Array(values.length);
  order.forEach((p, r) => (rank[p] = r + 1));
  return rank;
}

function positionMap(ids: Int32Array): (id: number) => number | undefined {
  const map = new Map<number, number>();
  ids.forEach((id, p) => map.set(id, p));
  return (id) => map.get(id);
}

const NB201_EDGE_CELLS = NB201_EDGES.map((e) => e.from * 4 + e.to);

/**
 * The §2.2 tensor written straight from a record already checked by a reader or built by the dataset builder (the
 * search writes thousands of them): the same values as nb201FeatureTensor, without re-parsing the arch string.
 * Returns false, leaving `out` partly written, when a field is not as expected.
 */
function writeNb201FeaturesFast(adjacency: number[][], optFlops: Record<string, number[]>, optParams: Record<string, number[]>, out: Float32Array, offset: number): boolean {
  if (!Array.isArray(adjacency) || adjacency.length !== 4 || !optFlops || !optParams) return false;
  out.fill(0, offset, offset + NB201_FEATURE_LENGTH);
  for (let i = 0; i < 4; i++) {
    const row = adjacency[i];
    if (!Array.isArray(row) || row.length !== 4) return false;
    for (let j = 0; j < 4; j++) {
      const code = row[j];
      if (!Number.isInteger(code) || code < 0 || code >= NB201_NUM_OPS) return false;
      out[offset + i * 4 + j] = code;
    }
  }
  for (let c = 0; c < NB201_CELL_KEYS.length; c++) {
    const flops = optFlops[NB201_CELL_KEYS[c]];
    const params = optParams[NB201_CELL_KEYS[c]];
    if (!Array.isArray(flops) || !Array.isArray(params) || flops.length !== NB201_EDGE_CELLS.length || params.length !== NB201_EDGE_CELLS.length) return false;
    const fBase = offset + (1 + 2 * c) * 16;
    const pBase = fBase + 16;
    for (let e = 0; e < NB201_EDGE_CELLS.length; e++) {
      const [f, q] = [flops[e], params[e]];
      if (typeof f !== 'number' || typeof q !== 'number' || !Number.isFinite(f) || !Number.isFinite(q)) return false;
      out[fBase + NB201_EDGE_CELLS[e]] = f;
      out[pBase + NB201_EDGE_CELLS[e]] = q;
    }
  }
  return true;
}

const NB201_FEATURE_LENGTH = NB201_FEATURE_SHAPE[0] * NB201_FEATURE_SHAPE[1] * NB201_FEATURE_SHAPE[2];

/**
 * The NB201 search benchmark of NAR's NB201 records (an array in NB201 index order, or a map keyed by NB201 index)
 * for one `network_type`. Records whose validation or test accuracy is null are left out (the search treats them as
 * unknown architectures).
 * @throws TorchnasError INVALID_ARGUMENT for an unknown network or when no record has accuracies.
 */
export function nb201SearchBenchmark(records: Nb201CellInfoRecords, networkType: NarNb201NetworkType = 'imagenet16'): NarSearchBenchmark {
  const prefix = NB201_COST_PREFIX[networkType];
  if (prefix === undefined) throw new TorchnasError(`NAR search: network type must be cifar10, cifar100 or imagenet16, got ${showValue(networkType)}`, 'INVALID_ARGUMENT');
  const entries = (records instanceof Map ? [...records.entries()].sort((a, b) => a[0] - b[0]) : (records as readonly Nb201CellInfoRecord[]).map((r, i) => [i, r] as const)) as [number, Nb201CellInfoRecord][];
  const kept = entries.filter(([, r]) => typeof r[`${networkType}_val_acc`] === 'number' && typeof r[`${networkType}_test_acc`] === 'number');
  if (kept.length === 0) throw new TorchnasError(`NAR search: no NB201 record has ${networkType} accuracies`, 'INVALID_ARGUMENT');
  const n = kept.length;
  const ids = new Int32Array(n);
  const [flops, params, valAcc, testAcc] = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const edges = new Uint8Array(n * NB201_NUM_OPS);
  const byOrdinal = new Int32Array(NB201_NUM_ARCHS).fill(-1);
  const recs: Nb201CellInfoRecord[] = [];
  const fields = (r: Nb201CellInfoRecord) => r as unknown as Record<string, unknown>;
  kept.forEach(([id, r], p) => {
    ids[p] = id;
    flops[p] = fields(r)[`${prefix}_total_flops`] as number;
    params[p] = fields(r)[`${prefix}_total_params`] as number;
    valAcc[p] = r[`${networkType}_val_acc`] as number;
    testAcc[p] = r[`${networkType}_test_acc`] as number;
    if (!Number.isFinite(flops[p]) || !Number.isFinite(params[p])) throw new TorchnasError(`NAR search: NB201 record ${id} has no ${prefix}_total_flops / ${prefix}_total_params`, 'INVALID_ARGUMENT');
    edges.set(nb201EdgesTypeCounts(r.arch_str), p * NB201_NUM_OPS);
    const ordinal = nb201Ordinal(parseNb201String(r.arch_str));
    if (byOrdinal[ordinal] >= 0) throw new TorchnasError(`NAR search: NB201 records ${ids[byOrdinal[ordinal]]} and ${id} are the same architecture ${r.arch_str}`, 'INVALID_ARGUMENT');
    byOrdinal[ordinal] = p;
    recs.push(r);
  });
  const featureLength = NB201_FEATURE_LENGTH;
  return {
    space: 'nb201',
    size: n,
    ids,
    flops,
    params,
    valAcc,
    testAcc,
    rank: ranksByDescending(testAcc),
    edges,
    featureLength,
    writeFeatures(p, out, offset) {
      const r = fields(recs[p]);
      const optFlops = r[`${prefix}_opt_flops`] as Record<string, number[]>;
      const optParams = r[`${prefix}_opt_params`] as Record<string, number[]>;
      if (!writeNb201FeaturesFast(recs[p].cell_adjacency, optFlops, optParams, out, offset)) {
        // something is malformed: the checked encoder says what (or, if it accepts the record, writes it)
        out.set(nb201FeatureTensor(recs[p], optFlops, optParams).data, offset);
      }
    },
    describe: (p) => recs[p].arch_str,
    positionOfId: positionMap(ids),
    lookupNb201(ops) {
      const p = byOrdinal[nb201Ordinal(ops)];
      return p >= 0 ? p : undefined;
    },
  };
}

/**
 * The NB101 search benchmark of NAR's NB101 records (in file order; id = position in `records`). Accuracies are the
 * file's fractions (0..1); FLOPs = `flops`, params = `trainable_parameters` (what NAR's sampler compares to its caps).
 * @throws TorchnasError INVALID_ARGUMENT when `records` is empty or a hash repeats.
 */
export function nb101SearchBenchmark(records: readonly Nb101CellInfoRecord[]): NarSearchBenchmark {
  const n = records.length;
  if (n === 0) throw new TorchnasError('NAR search: no NB101 records given', 'INVALID_ARGUMENT');
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const [flops, params, valAcc, testAcc] = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const nodes = new Uint8Array(n);
  const byHash = new Map<string, number>();
  records.forEach((r, p) => {
    flops[p] = r.flops;
    params[p] = r.trainable_parameters;
    valAcc[p] = r.avg_validation_accuracy;
    testAcc[p] = r.avg_test_accuracy;
    nodes[p] = r.module_adjacency.length;
    if (byHash.has(r.unique_hash)) throw new TorchnasError(`NAR search: NB101 records ${byHash.get(r.unique_hash)} and ${p} repeat unique_hash ${r.unique_hash}`, 'INVALID_ARGUMENT');
    byHash.set(r.unique_hash, p);
  });
  return {
    space: 'nb101',
    size: n,
    ids,
    flops,
    params,
    valAcc,
    testAcc,
    rank: ranksByDescending(testAcc),
    nodes,
    featureLength: NB101_FEATURE_SHAPE[0] * NB101_FEATURE_SHAPE[1] * NB101_FEATURE_SHAPE[2],
    writeFeatures: (p, out, offset) => out.set(nb101FeatureTensor(records[p]).data, offset),
    describe: (p) => records[p].unique_hash,
    positionOfId: (id) => (Number.isInteger(id) && id >= 0 && id < n ? id : undefined),
    lookupNb101: (cell) => byHash.get(nb101CellHash(cell)),
  };
}
