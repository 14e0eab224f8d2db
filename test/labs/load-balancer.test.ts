// load-balancer: five grader-hosted backends (grader/probe/backends.ts) behind the learner's balancer; no Docker.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('load-balancer', { timeoutMs: 120_000, concurrent: true });
