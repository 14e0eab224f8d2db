// replicated-kv: three nodes of each variant behind the grader's fault network (no Docker).
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('replicated-kv', { timeoutMs: 120_000 });
