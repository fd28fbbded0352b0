// Jest runs tests in a vm realm that lacks Node's Symbol.dispose/asyncDispose; give it the same
// registered symbols Node's main realm uses, so `using` works in tests as it does in programs.
Symbol.dispose ??= Symbol.for('nodejs.dispose');
Symbol.asyncDispose ??= Symbol.for('nodejs.asyncDispose');

// Tables named in tests resolve to the bundled data/, never to a developer's ~/.cache/torchnas: point
// $TORCHNAS_HOME at a folder that does not exist (tests of the cache set their own) and drop any catalog
// override or mirror of the environment.
process.env.TORCHNAS_HOME = require('node:path').join(require('node:os').tmpdir(), `torchnas-test-home-absent-${process.pid}`);
delete process.env.TORCHNAS_CATALOG;
delete process.env.TORCHNAS_MIRROR;
