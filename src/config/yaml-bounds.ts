/**
 * Bounds on YAML input, checked before the `yaml` parser sees it. The parser recurses once per
 * nesting level (deep input overflows the stack, and a second overflow in one process has aborted
 * V8 in its regexp compiler), checks duplicate keys in quadratic time and expands aliases; configs
 * are a few KB, so anything far larger or deeper is refused as `CONFIG_INVALID` up front.
 */
import { CST, Lexer } from 'yaml';
import { TorchnasError } from '../core/errors';

export const YAML_LIMITS = {
  /**
   * UTF-8 bytes; the largest shipped config is ~2.5 KB. A flat YAML of this size still takes the
   * parser ~0.1 s, so the bound is kept well below the 1 MiB one might expect.
   */
  maxBytes: 64 * 1024,
  /** Block levels + compact indicators on a line + flow brackets. */
  maxDepth: 64,
  /** `*alias` nodes in the text (each also expands at most `maxAliasCount` nodes in `toJS`). */
  maxAliases: 100,
};

/**
 * Refuses text over the size, depth or alias bounds, naming `source` and the line.
 * One pass of the `yaml` lexer, which is an iterative state machine (linear, no recursion).
 * Depth is over-estimated, never under-: every deeper indentation, every `-`/`?`/`:` indicator
 * on a line and every open `[`/`{` counts one level.
 */
export function checkYamlBounds(text: string, source: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) {
    throw new TorchnasError(`${source}: config is ${bytes} bytes; at most ${YAML_LIMITS.maxBytes} are accepted`, 'CONFIG_INVALID');
  }
  const indents: number[] = [];
  let flow = 0;
  let lineLevels = 0;
  let lineStart = true;
  let indent = 0;
  let line = 1;
  let aliases = 0;
  let scalarSourceNext = false;

  const content = (): void => {
    if (lineStart) {
      lineStart = false;
      if (flow === 0) {
        while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop();
        indents.push(indent);
      }
    }
    const depth = indents.length + lineLevels + flow;
    if (depth > YAML_LIMITS.maxDepth) {
      throw new TorchnasError(
        `${source}: YAML nests deeper than ${YAML_LIMITS.maxDepth} levels at line ${line}`,
        'CONFIG_INVALID',
      );
    }
  };
  const countLines = (tok: string): number => {
    let n = 0;
    for (let i = tok.indexOf('\n'); i !== -1; i = tok.indexOf('\n', i + 1)) n++;
    return n;
  };

  for (const tok of new Lexer().lex(text)) {
    if (scalarSourceNext) {
      // The source of a scalar (plain, quoted or block); a block scalar's ends with its last newline.
      scalarSourceNext = false;
      const n = countLines(tok);
      line += n;
      if (n > 0 && tok.endsWith('\n')) {
        lineStart = true;
        indent = 0;
        lineLevels = 0;
      }
      continue;
    }
    if (tok === CST.SCALAR) {
      content();
      scalarSourceNext = true;
      continue;
    }
    switch (CST.tokenType(tok)) {
      case 'newline':
        line++;
        lineStart = true;
        indent = 0;
        lineLevels = 0;
        break;
      case 'space':
        line += countLines(tok);
        if (lineStart) indent = tok.length;
        break;
      case 'comment':
      case 'byte-order-mark':
      case 'doc-mode':
      case 'comma':
        break;
      case 'doc-start':
      case 'doc-end':
        indents.length = 0;
        flow = 0;
        break;
      case 'flow-seq-start':
      case 'flow-map-start':
        content();
        flow++;
        content();
        break;
      case 'flow-seq-end':
      case 'flow-map-end':
      case 'flow-error-end':
        if (flow > 0) flow--;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        content();
        if (flow === 0) lineLevels++;
        content();
        break;
      case 'alias':
        content();
        if (++aliases > YAML_LIMITS.maxAliases) {
          throw new TorchnasError(
            `${source}: more than ${YAML_LIMITS.maxAliases} aliases (*name) at line ${line}`,
            'CONFIG_INVALID',
          );
        }
        break;
      default:
        line += countLines(tok);
        content();
    }
  }
}
