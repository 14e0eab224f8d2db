// sessions needs Redis: the grader starts it in Docker (kept warm between runs). Without Docker these tests
// fail with the grader's "no Docker" message; they never skip. Each run waits out real idle and absolute
// timeouts (about 28 s), hence the budget.
import { verifyLab } from '../helpers/verify-lab.ts';

// The waits are sleeps with margins of a second or more: the variants run side by side.
verifyLab('sessions', { timeoutMs: 150_000, concurrent: true });
