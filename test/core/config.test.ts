import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { loadYamlConfig } from '../../src/config/load';
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
