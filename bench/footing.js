// Equal footing for the benches: the baseline runs with the same thread count for LibTorch, OpenMP and the
// BLAS as torchnas (childEnv), both sides report the BLAS libraries mapped into them (bench/footing.py,
// info()), and a ratio is printed only when they match; otherwise the bench says why and prints none.
'use strict';

/** Environment for the Python baseline: OpenMP and OpenBLAS pools at `threads` (LibTorch's is set in the script). */
function childEnv(threads) {
  return { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
}

/** Compares torchnas's info() with the baseline's footing(); returns { equal, lines, reasons }. */
function compareFooting(ours, theirs) {
  const describe = (f) =>
    `BLAS ${f.blas.length ? f.blas.join(' + ') : 'none mapped'}` +
    (f.openblas ? ` [${f.openblas.config.trim()}, ${f.openblas.parallel}, ${f.openblas.threads} BLAS thread(s)]` : '') +
    `; LibTorch ${f.threads} intra-op thread(s)`;
  const reasons = [];
  if (ours.blas.join('|') !== theirs.blas.join('|')) reasons.push('the two sides load different BLAS/LAPACK libraries');
  if (ours.threads !== theirs.threads) reasons.push(`LibTorch threads differ (${ours.threads} vs ${theirs.threads})`);
  const ob = ours.openblas;
  const tb = theirs.openblas;
  if (Boolean(ob) !== Boolean(tb)) reasons.push('only one side has OpenBLAS');
  else if (ob && tb && ob.threads !== tb.threads) reasons.push(`OpenBLAS threads differ (${ob.threads} vs ${tb.threads})`);
  return {
    equal: reasons.length === 0,
    reasons,
    lines: [`torchnas: ${describe(ours)}`, `Python:   ${describe(theirs)}`],
  };
}

/** "0.42×", or "—" with the reason noted once by the caller when the footing is not equal. */
function ratio(ours, theirs, footing, digits = 2) {
  return footing.equal ? `${(ours / theirs).toFixed(digits)}×` : '— (unequal footing)';
}

/** The value after `--name` on the command line (a string), or `fallback` when the flag is absent. */
function option(name, fallback, args = process.argv.slice(2)) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

module.exports = { childEnv, compareFooting, option, ratio };
