// polyglot-persistence needs PostgreSQL and Redis: the grader starts them in Docker (kept warm between runs).
// Without Docker these tests fail with the grader's "no Docker" message; they never skip. Sequential: the
// 200 simultaneous updates of one variant should not compete with another's on two cores.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('polyglot-persistence', { timeoutMs: 180_000 });
