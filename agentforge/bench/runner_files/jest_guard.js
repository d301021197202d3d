// The grader's Jest setup file (setupFilesAfterEnv), loaded before the test file and so
// before any solution code. Every test must make at least one assertion with the real
// `expect`, and `expect` must still be the real one after the test: a solution that swaps
// the global assertion library fails its tests instead of passing them.
const realExpect = global.expect;

beforeEach(() => {
  realExpect.hasAssertions();
});

afterEach(() => {
  if (global.expect !== realExpect) {
    throw new Error('runner tampering: the global expect was replaced by code under test');
  }
});
