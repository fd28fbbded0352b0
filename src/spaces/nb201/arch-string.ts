/**
 * The NB201 arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (tenas.md §1.1): '+'-separated groups for nodes
 * 1, 2, 3; inside a group the incoming edges ordered by source node, written `op~source`.
 */
import { TorchnasError, showValue } from '../../core/errors';
import { NB201_EDGES, NB201_NUM_NODES, NB201_OPS, Nb201Arch, checkNb201Arch, nb201OpIndex } from './ops';

/** The longest arch string (all `nor_conv_3x3`) has 93 characters. */
const MAX_STRING_CHARS = 256;

function fail(text: string, problem: string): never {
  throw new TorchnasError(`invalid NB201 arch string ${JSON.stringify(text)}: ${problem}`, 'INVALID_CODE');
}

/** Position of edge `to<-from` in NB201_EDGES. */
function edgePosition(to: number, from: number): number {
  return ((to - 1) * to) / 2 + from;
}

/**
 * Parses an NB201 arch string into op indices (edge order of NB201_EDGES). Strict: no whitespace, exactly three
 * groups, node i lists exactly i edges with sources 0..i−1 in order, and every op is one of NB201_OPS.
 * @throws TorchnasError INVALID_CODE whose message quotes the string and names the wrong group, entry, op or source.
 */
export function parseNb201String(text: string): number[] {
  if (typeof text !== 'string') {
    throw new TorchnasError(`invalid NB201 arch string: expected a string, got ${showValue(text)}`, 'INVALID_CODE');
  }
  if (text.length > MAX_STRING_CHARS) {
    fail(text.slice(0, 40), `${text.length} characters, far longer than an arch string (at most ${MAX_STRING_CHARS})`);
  }
  const groups = text.split('+');
  if (groups.length !== NB201_NUM_NODES) {
    fail(text, `expected ${NB201_NUM_NODES} '+'-separated node groups (nodes 1, 2, 3), found ${groups.length}`);
  }
  const ops = new Array<number>(NB201_EDGES.length);
  groups.forEach((group, g) => {
    const node = g + 1;
    if (group.length < 2 || !group.startsWith('|') || !group.endsWith('|')) {
      fail(text, `group ${node} ${JSON.stringify(group)} must be written |op~source|...| with '|' at both ends`);
    }
    const entries = group.slice(1, -1).split('|');
    if (entries.length !== node) {
      fail(text, `node ${node} must list ${node} incoming edge${node > 1 ? 's' : ''}, found ${entries.length} in ${JSON.stringify(group)}`);
    }
    entries.forEach((entry, from) => {
      const match = /^([^~|]*)~(\d+)$/.exec(entry);
      if (match === null) fail(text, `entry ${JSON.stringify(entry)} of node ${node} is not of the form op~source`);
      const [, name, sourceText] = match;
      const source = Number(sourceText);
      if (source !== from || sourceText !== String(source)) {
        fail(text, `entry ${JSON.stringify(entry)} of node ${node} has source ${sourceText}, expected ${from} (entries are ordered by source node 0..${node - 1})`);
      }
      const op = nb201OpIndex(name);
      if (op < 0) {
        fail(text, `unknown op ${JSON.stringify(name)} on edge ${node}<-${from}; expected one of ${NB201_OPS.join(', ')}`);
      }
      ops[edgePosition(node, from)] = op;
    });
  });
  return ops;
}

/** Writes op indices (edge order of NB201_EDGES) as the NB201 arch string. */
export function formatNb201String(ops: Nb201Arch): string {
  const checked = checkNb201Arch(ops);
  const groups: string[] = [];
  for (let node = 1; node <= NB201_NUM_NODES; node++) {
    const entries: string[] = [];
    for (let from = 0; from < node; from++) entries.push(`${NB201_OPS[checked[edgePosition(node, from)]]}~${from}`);
    groups.push(`|${entries.join('|')}|`);
  }
  return groups.join('+');
}
