// Runs an async snippet against the raw binding in its own process and prints its JSON result, so a
// test can survive (and report) a crash of the code under test. Usage: node eval.js '<async body>'
// The body sees `b` (the binding), `TorchnasError`, `fs`, `path` and returns a JSON-able value.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { loadBinding, TorchnasError } = require('./binding');

const b = loadBinding();
const body = new Function('b', 'TorchnasError', 'fs', 'path', `return (async () => { ${process.argv[2]} })();`);
body(b, TorchnasError, fs, path).then(
  (value) => process.stdout.write(JSON.stringify({ value })),
  (e) => process.stdout.write(JSON.stringify({ error: { name: e && e.name, code: e && e.code, message: String(e && e.message) } })),
);
