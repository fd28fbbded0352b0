import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

function cmakeSources(): string[] {
  const text = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const m = /set\(TORCHNAS_SOURCES([\s\S]*?)\)/.exec(text);
  if (!m) throw new Error('CMakeLists.txt has no TORCHNAS_SOURCES list');
  return m[1].split(/\s+/).filter(Boolean).sort();
}

function gypSources(): string[] {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
  return [...gyp.targets[0].sources].sort();
}

function nativeFiles(dir = path.join(root, 'native')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return nativeFiles(p);
    return e.name.endsWith('.cc') ? [path.relative(root, p)] : [];
  });
}

test('CMakeLists.txt and binding.gyp build the same sources', () => {
  expect(gypSources()).toEqual(cmakeSources());
});

test('every native .cc file is built', () => {
  expect(cmakeSources()).toEqual(nativeFiles().sort());
});

test('native/core never includes N-API', () => {
  const core = nativeFiles(path.join(root, 'native', 'core'));
  const headers = fs
    .readdirSync(path.join(root, 'native', 'core'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.h'))
    .map((f) => path.join('native', 'core', f));
  for (const f of [...core, ...headers]) {
    expect(fs.readFileSync(path.join(root, f), 'utf8')).not.toMatch(/#include\s*[<"]napi\.h[>"]/);
  }
});
