import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('reverse-proxy', { timeoutMs: 120_000 });
