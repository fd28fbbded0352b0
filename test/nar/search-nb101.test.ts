import { isNb101CellInSpace, nb101CellHash, pruneNb101Cell } from '../../src/spaces/nb101';

/** The §1.1 example cell of nar.md and its unique_hash. */
const EXAMPLE_MATRIX = [
  [0, 1, 0, 0, 1, 1, 0],
  [0, 0, 1, 0, 0, 0, 0],
  [0, 0, 0, 1, 0, 0, 1],
  [0, 0, 0, 0, 0, 1, 0],
  [0, 0, 0, 0, 0, 1, 0],
  [0, 0, 0, 0, 0, 0, 1],
  [0, 0, 0, 0, 0, 0, 0],
];
const EXAMPLE_OPS = ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv1x1-bn-relu', 'output'];

describe('NB101 pruning and module hash (for the NB101 search lookup)', () => {
  test('the §1.1 example hashes to its unique_hash', () => {
    const cell = pruneNb101Cell(EXAMPLE_MATRIX, EXAMPLE_OPS);
    expect(cell).not.toBeNull();
    expect(cell!.matrix).toEqual(EXAMPLE_MATRIX);
    expect(nb101CellHash(cell!)).toBe('00005c142e6f48ac74fdcf73e3439874');
  });

  test('the hash ignores vertex numbering: swapping two independent vertices keeps it', () => {
    // vertices 3 and 4 of the example are both conv3x3 fed by ...; renumber 1<->4 is not a topological order, so
    // permute a pair of interchangeable positions instead: build the example with vertices 3 and 4 exchanged.
    const perm = [0, 1, 2, 4, 3, 5, 6];
    // 2→3 becomes 2→4 after the swap, which is still forward; 3→5 and 4→5 stay forward.
    const matrix = perm.map((i) => perm.map((j) => EXAMPLE_MATRIX[i][j]));
    const ops = perm.map((i) => EXAMPLE_OPS[i]);
    expect(nb101CellHash({ matrix, ops: ops as never })).toBe('00005c142e6f48ac74fdcf73e3439874');
    // changing one op changes it
    const other = [...EXAMPLE_OPS];
    other[1] = 'conv1x1-bn-relu';
    expect(nb101CellHash(pruneNb101Cell(EXAMPLE_MATRIX, other)!)).not.toBe('00005c142e6f48ac74fdcf73e3439874');
  });

  test('pruning drops dead vertices and rejects a cell whose output is unreachable', () => {
    // vertex 2 has no path to the output: dropped
    const matrix = [
      [0, 1, 1, 0],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const ops = ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'output'];
    expect(pruneNb101Cell(matrix, ops)).toEqual({ matrix: [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ops: ['input', 'conv3x3-bn-relu', 'output'] });
    expect(pruneNb101Cell([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ['input', 'conv1x1-bn-relu', 'output'])).toBeNull();
    expect(isNb101CellInSpace(pruneNb101Cell(EXAMPLE_MATRIX, EXAMPLE_OPS)!)).toBe(true);
  });
});
