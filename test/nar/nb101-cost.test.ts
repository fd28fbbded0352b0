// The NB101 counter of nar.md §1.1 (TF-profiler convention, NB101 channel allocation) against the §1.1 example.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NB101_CELL_KEYS, nb101ModuleCost, nb101NetworkCost, nb101VertexChannels, checkNb101Cell } from '../../src/spaces/nb101';

const example = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'nar', 'nb101-example.json'), 'utf8')) as Record<string, unknown>[])[0];
const cell = { matrix: example.module_adjacency as number[][], ops: example.module_operations as never[] };

describe('NB101 per-vertex FLOPs and params (nar.md §1.1)', () => {
  test('the example: all 9 × 7 vertex FLOPs and params and both totals reproduced exactly', () => {
    const cost = nb101NetworkCost(cell);
    expect(Object.keys(cost.vertexFlops)).toEqual(NB101_CELL_KEYS);
    expect(cost.vertexFlops).toEqual(example.vertex_flops);
    expect(cost.vertexParams).toEqual(example.vertex_params);
    expect(cost.flops).toBe(2527684618);
    expect(cost.trainableParameters).toBe(8555530);
  });

  test('channel allocation: the output split over its feeders (remainder to the lowest), others take the largest successor', () => {
    // example cell: vertices 2 and 5 feed the output
    expect(nb101VertexChannels(cell.matrix, 128, 128)).toEqual([128, 64, 64, 64, 64, 64, 128]);
    // vertices 2, 3, 4 feed the output: 128 = 43 + 43 + 42; vertex 1 (successors 2 and 3) takes max(43, 43)
    const m = [
      [0, 1, 0, 0, 1, 0],
      [0, 0, 1, 1, 0, 0],
      [0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 1, 1],
      [0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0],
    ];
    expect(nb101VertexChannels(m, 128, 128)).toEqual([128, 43, 43, 43, 42, 128]);
  });

  test('a hand-counted 3-vertex cell with an input→output edge: the projection and the addition sit on the output vertex', () => {
    const small = checkNb101Cell(
      [
        [0, 1, 1],
        [0, 0, 1],
        [0, 0, 0],
      ],
      ['input', 'conv1x1-bn-relu', 'output'],
    );
    // 128 → 128 at 32²: vertex 1 gets all 128 channels; projection 2·128·128·1024, conv 2·128·128·1024
    const cost = nb101ModuleCost(small, 128, 128, 32);
    expect(cost.flops).toEqual([0, 2 * 2 * 128 * 128 * 1024, 2 * 128 * 128 * 1024 + 128 * 1024]);
    expect(cost.params).toEqual([0, 2 * (128 * 128 + 256), 128 * 128 + 256]);
  });

  test('malformed cells are INVALID_CODE naming the entry', () => {
    expect(() => nb101NetworkCost({ matrix: [[0]], ops: ['input'] as never[] })).toThrow(/expected 2..7 vertices/);
    expect(() => nb101NetworkCost({ matrix: [[0, 1], [0, 0]], ops: ['input', 'conv3x3-bn-relu'] as never[] })).toThrow(/op of vertex 1 is "conv3x3-bn-relu", expected output/);
    expect(() => nb101NetworkCost({ matrix: [[0, 2], [0, 0]], ops: ['input', 'output'] as never[] })).toThrow(expect.objectContaining({ code: 'INVALID_CODE', message: expect.stringContaining('adjacency [0][1] is 2') }));
  });
});
