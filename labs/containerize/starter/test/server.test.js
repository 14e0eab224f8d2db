// The app's tests: they belong in the repository, not in the image.
import assert from 'node:assert';
assert.equal(1 + 1, 2);
