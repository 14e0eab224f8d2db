// microservices runs two learner processes (orders, inventory) with the grader's fault network between them.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('microservices', { timeoutMs: 180_000 });
