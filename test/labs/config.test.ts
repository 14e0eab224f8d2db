import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('config', { timeoutMs: 120_000, concurrent: true });
