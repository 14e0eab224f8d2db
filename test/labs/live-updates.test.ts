import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('live-updates', { timeoutMs: 60_000 });
