// stateless-scaling runs three replicas of each variant plus Redis (in Docker, kept warm between runs).
// Without Docker these tests fail with the grader's "no Docker" message; they never skip.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('stateless-scaling', { timeoutMs: 120_000, concurrent: true });
