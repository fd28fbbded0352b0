#!/usr/bin/env node
// Runs an example of this folder from a clone of torchnas, without building anything:
//   node examples/run.js examples/nb201-lookup.ts [args…]
// `import … from 'torchnas'` resolves to this repository's sources, which TypeScript (a dev dependency)
// transpiles as they load. In a project that installed torchnas, compile the example with your own tsc instead.
// `npm run examples:check` type-checks all examples (tsconfig.examples.json).
'use strict';
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const ts = require(require.resolve('typescript', { paths: [root] }));

Module._extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(outputText, filename);
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'torchnas') return path.join(root, 'src', 'index.ts');
  if (request.startsWith('torchnas/')) return resolve.call(this, path.join(root, request.slice('torchnas/'.length)), ...rest);
  return resolve.call(this, request, ...rest);
};

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node examples/run.js examples/NAME.ts [args…]');
  process.exit(2);
}
process.argv = [process.argv[0], path.resolve(script), ...args];
require(path.resolve(script));
