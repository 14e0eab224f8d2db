// idempotency-keys needs PostgreSQL: the grader starts it in Docker (kept warm between runs). Without Docker
// these tests fail with the grader's "no Docker" message; they never skip.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('idempotency-keys', { timeoutMs: 90_000 });
