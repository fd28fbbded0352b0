import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { loadYamlConfig, parseYaml } from '../../src/config/load';
import { YAML_LIMITS } from '../../src/config/yaml-bounds';
import { execFileSync } from 'node:child_process';
import { TorchnasError } from '../../src/core/errors';
import { writeJsonAtomic } from '../../src/core/atomic-file';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchnas-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const schema = z
  .object({
    seed: z.number().int().default(0),
    train: z.object({ lr: z.number().positive(), epochs: z.number().int().min(1) }).strict(),
  })
  .strict();

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

function caught(fn: () => unknown): TorchnasError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TorchnasError);
    return e as TorchnasError;
  }
  throw new Error('expected an error');
}

describe('YAML configs', () => {
  test('valid config with defaults', () => {
    const f = write('ok.yaml', 'train:\n  lr: 0.01\n  epochs: 3\n');
    expect(loadYamlConfig(f, schema)).toEqual({ seed: 0, train: { lr: 0.01, epochs: 3 } });
  });

  test('malformed YAML names file, line and column', () => {
    const f = write('bad.yaml', 'train:\n  lr: [0.01\n  epochs: 3\n');
    const e = caught(() => loadYamlConfig(f, schema));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('bad.yaml');
    expect(e.message).toMatch(/malformed YAML at line \d+, column \d+/);
  });

  test('schema violation names the key path and expected type', () => {
    const f = write('wrong.yaml', 'train:\n  lr: fast\n  epochs: 3\n');
    const e = caught(() => loadYamlConfig(f, schema));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('wrong.yaml');
    expect(e.message).toMatch(/train\.lr: Expected number, received string/);
  });

  test('unknown keys and missing keys are reported', () => {
    const f = write('extra.yaml', 'train:\n  lr: 0.1\n  epoch: 3\n');
    const e = caught(() => loadYamlConfig(f, schema));
    expect(e.message).toMatch(/train\.epochs: Required/);
    expect(e.message).toMatch(/Unrecognized key\(s\) in object: 'epoch'/);
  });

  test('duplicate keys are malformed', () => {
    const f = write('dup.yaml', 'seed: 1\nseed: 2\ntrain:\n  lr: 1\n  epochs: 1\n');
    expect(caught(() => loadYamlConfig(f, schema)).code).toBe('CONFIG_INVALID');
  });

  test('missing config file', () => {
    expect(caught(() => loadYamlConfig(path.join(tmp, 'none.yaml'), schema)).code).toBe('FILE_NOT_FOUND');
  });
});

describe('YAML bounds (issue 7)', () => {
  const loose = z.unknown();
  const nestedBlock = (levels: number): string => {
    let text = '';
    for (let i = 0; i < levels; i++) text += `${'  '.repeat(i)}k${i}:\n`;
    return text + `${'  '.repeat(levels)}leaf: 1\n`;
  };

  test('text that is not a string is CONFIG_INVALID (was a TypeError)', () => {
    expect(caught(() => parseYaml(Buffer.from('a: 1') as unknown as string, 'buf.yaml')).message).toBe('buf.yaml: YAML text must be a string, got {"type":"Buffer","data":[97,58,32,49]}');
  });

  test('an unresolved alias is CONFIG_INVALID naming the file', () => {
    const e = caught(() => loadYamlConfig(write('alias.yaml', 'a: *nowhere\n'), loose));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/alias\.yaml: .*Unresolved alias.*nowhere/);
  });

  test('alias expansion (billion laughs) is CONFIG_INVALID', () => {
    const rows = ['a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]'];
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd']]) rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const e = caught(() => loadYamlConfig(write('laughs.yaml', rows.join('\n') + '\n'), loose));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/laughs\.yaml: invalid YAML: Excessive alias count/);
  });

  test('more aliases than the bound are refused before parsing', () => {
    let text = 'x: &x 1\n';
    for (let i = 0; i <= YAML_LIMITS.maxAliases; i++) text += `r${i}: *x\n`;
    const e = caught(() => parseYaml(text, 'many.yaml'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(`many.yaml: more than ${YAML_LIMITS.maxAliases} aliases (*name) at line ${YAML_LIMITS.maxAliases + 2}`);
  });

  test('deep flow nesting is refused, twice in one process (V8 used to abort)', () => {
    for (const text of ['a: ' + '['.repeat(20000), '{a: '.repeat(12000) + '}', '['.repeat(65) + ']'.repeat(65)]) {
      for (let round = 0; round < 2; round++) {
        const e = caught(() => parseYaml(text, 'deep.yaml'));
        expect(e.code).toBe('CONFIG_INVALID');
        expect(e.message).toBe(`deep.yaml: YAML nests deeper than ${YAML_LIMITS.maxDepth} levels at line 1`);
      }
    }
  });

  test('deep block nesting (indentation, compact "- " and "? ") is refused', () => {
    const e = caught(() => parseYaml(nestedBlock(100), 'block.yaml'));
    expect(e.message).toBe(`block.yaml: YAML nests deeper than ${YAML_LIMITS.maxDepth} levels at line ${YAML_LIMITS.maxDepth}`);
    for (const text of ['- '.repeat(3000) + 'x\n', '? '.repeat(3000) + 'x\n', 'a:\n' + '  - '.repeat(80) + 'x\n']) {
      const err = caught(() => parseYaml(text, 'compact.yaml'));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(/^compact\.yaml: YAML nests deeper than 64 levels at line \d$/);
    }
  });

  test('nesting within the bound still parses to the right value', () => {
    let expected: unknown = { leaf: 1 };
    for (let i = 29; i >= 0; i--) expected = { [`k${i}`]: expected };
    expect(parseYaml(nestedBlock(30), 'ok.yaml')).toEqual(expected);
    expect(parseYaml('a: ' + '['.repeat(30) + '1' + ']'.repeat(30), 'ok.yaml')).toEqual({ a: JSON.parse('['.repeat(30) + '1' + ']'.repeat(30)) });
    expect(parseYaml('s: |\n' + Array.from({ length: 100 }, (_, i) => ' '.repeat(2 + i) + 'x').join('\n') + '\n', 'ok.yaml')).toEqual({
      s: Array.from({ length: 100 }, (_, i) => ' '.repeat(i) + 'x').join('\n') + '\n',
    });
  });

  test('an oversized file is refused unread, an oversized string before parsing', () => {
    const big = write('big.yaml', 'a: 1\n' + '#'.repeat(YAML_LIMITS.maxBytes) + '\n');
    const e = caught(() => loadYamlConfig(big, loose));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(`${big}: config is ${YAML_LIMITS.maxBytes + 6} bytes; at most ${YAML_LIMITS.maxBytes} are accepted`);
    expect(caught(() => parseYaml('é'.repeat(YAML_LIMITS.maxBytes / 2 + 1), 's')).message).toMatch(/^s: config is \d+ bytes/);
  });

  test('thousands of keys parse, and duplicates are still found (linear check)', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}`);
    const value = parseYaml(rows.join('\n') + '\n', 'keys.yaml') as Record<string, number>;
    expect(Object.keys(value)).toHaveLength(5000);
    expect(value.k4999).toBe(4999);
    rows.push('k17: again');
    const e = caught(() => parseYaml(rows.join('\n') + '\n', 'keys.yaml'));
    expect(e.message).toBe('keys.yaml: malformed YAML at line 5001, column 1: duplicate key "k17"');
    expect(caught(() => parseYaml('a:\n  b: 1\n  c: 2\n  b: 3\n', 'n.yaml')).message).toBe('n.yaml: malformed YAML at line 4, column 3: duplicate key "b"');
  });

  (process.platform === 'win32' ? test.skip : test)('a FIFO is refused without blocking on it', () => {
    const fifo = path.join(tmp, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    const e = caught(() => loadYamlConfig(fifo, loose));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(`config ${fifo} is not a regular file`);
  });
});

describe('atomic JSON results', () => {
  test('writes complete JSON and leaves no temp file', async () => {
    const f = path.join(tmp, 'result.json');
    await writeJsonAtomic(f, { a: 1, b: [1, 2] });
    await writeJsonAtomic(f, { a: 2 });
    expect(JSON.parse(fs.readFileSync(f, 'utf8'))).toEqual({ a: 2 });
    expect(fs.readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
  test('a missing folder is FILE_NOT_FOUND and writes nothing', async () => {
    await expect(writeJsonAtomic(path.join(tmp, 'missing', 'r.json'), {})).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
