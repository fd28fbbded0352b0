// Jest runs tests in a vm realm that lacks Node's Symbol.dispose/asyncDispose; give it the same
// registered symbols Node's main realm uses, so `using` works in tests as it does in programs.
Symbol.dispose ??= Symbol.for('nodejs.dispose');
Symbol.asyncDispose ??= Symbol.for('nodejs.asyncDispose');
