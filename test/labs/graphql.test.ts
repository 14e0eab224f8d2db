// graphql needs PostgreSQL (with pg_stat_statements): the grader starts it in Docker (kept warm between runs) and
// seeds the lab's small template database once per container. Without Docker these tests fail with the grader's
// "no Docker" message; they never skip. The checks count statements, never time, so variants run side by side.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('graphql', { timeoutMs: 120_000, concurrent: true });
