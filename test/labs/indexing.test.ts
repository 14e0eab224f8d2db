// indexing needs PostgreSQL (with pg_stat_statements): the grader starts it in Docker (kept warm between runs)
// and seeds the lab's template database once. Without Docker these tests fail with the grader's "no Docker"
// message; they never skip. Sequential: the p95 check compares timings, and variants side by side on two
// cores would measure each other.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('indexing', { timeoutMs: 300_000 });
