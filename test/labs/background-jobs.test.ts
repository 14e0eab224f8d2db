// background-jobs needs PostgreSQL (Docker) and runs two learner processes (api, worker).
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('background-jobs', { timeoutMs: 180_000, concurrent: true });
