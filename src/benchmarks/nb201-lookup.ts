/** Looking NB201 architectures up in NCP's NB201 table (ImageNet16-120 accuracy; specs/tenas.md §1.5). */
import { loadNb201Table, Nb201TableRecord } from './nb201-table';
import { resolveTablePath } from './table-names';
import { Nb201IndexMap } from '../spaces/nb201';

export interface Nb201Table {
  /** The file read (a name such as `nb201` resolved to its path). */
  file: string;
  records: Nb201TableRecord[];
  index: Nb201IndexMap;
  /** rankOf[i]: 1-based rank of record i by accuracy (1 = best; ties share the best rank). */
  rankOf: Uint16Array;
}

export interface TableLookup {
  index: number;
  accuracy: number;
  /** 1 = best of 15625. */
  rank: number;
  /** Share of the space with strictly lower accuracy, in %. */
  percentile: number;
  /** The table's CIFAR-100-network MFLOPs and M params (not the accuracy's dataset). */
  flops: number;
  params: number;
}

/** Loads an NB201 table (a path or the name `nb201`) with its index map and accuracy ranks. */
export async function openNb201Table(table: string): Promise<Nb201Table> {
  const file = resolveTablePath(table, { kind: 'nb201' });
  const records = await loadNb201Table(file);
  const index = Nb201IndexMap.fromTableEmbeddings(records.map((r) => r.embedding));
  const sorted = records.map((r) => r.acc).sort((a, b) => b - a);
  const rankOf = new Uint16Array(records.length);
  records.forEach((r, i) => {
    // first position of this accuracy in the descending list, found by binary search
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] > r.acc) lo = mid + 1;
      else hi = mid;
    }
    rankOf[i] = lo + 1;
  });
  return { file, records, index, rankOf };
}

export function lookupNb201(table: Nb201Table, ops: readonly number[]): TableLookup {
  const i = table.index.indexOf(ops);
  const r = table.records[i];
  const below = table.records.reduce((n, x) => n + (x.acc < r.acc ? 1 : 0), 0);
  return { index: i, accuracy: r.acc, rank: table.rankOf[i], percentile: (100 * below) / table.records.length, flops: r.flops, params: r.params };
}
