// Loads the raw binding in a fuzz child process the way src/native.ts does ($TORCHNAS_ADDON, else
// node-gyp-build), with a TorchnasError class handed over so native errors can be recognised.
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');

class TorchnasError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'TorchnasError';
    this.code = code;
  }
}

function loadBinding() {
  const explicit = process.env.TORCHNAS_ADDON;
  const b = explicit ? require(path.resolve(explicit)) : require('node-gyp-build')(root);
  b.setErrorClass(TorchnasError);
  return b;
}

// mulberry32: a small seeded generator, so a failing call can be replayed from (seed, index).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { loadBinding, TorchnasError, rng, root };
