#!/usr/bin/env node
// prepack guard: the tarball must carry a prebuild for this platform that is not older than the native sources.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.node')) : undefined;
if (!file) {
  process.stderr.write(`prepack: no prebuild in ${path.relative(root, dir)}/; run \`npm run build:prebuild\` first\n`);
  process.exit(1);
}
const built = fs.statSync(path.join(dir, file)).mtimeMs;
const newer = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (fs.statSync(p).mtimeMs > built) newer.push(path.relative(root, p));
  }
})(path.join(root, 'native'));
if (fs.statSync(path.join(root, 'binding.gyp')).mtimeMs > built) newer.push('binding.gyp');
if (newer.length) {
  process.stderr.write(`prepack: the prebuild ${path.relative(root, path.join(dir, file))} is older than ${newer.slice(0, 3).join(', ')}${newer.length > 3 ? ` and ${newer.length - 3} more` : ''}; run \`npm run build:prebuild\`\n`);
  process.exit(1);
}
process.stdout.write(`prepack: shipping ${path.relative(root, path.join(dir, file))}\n`);
