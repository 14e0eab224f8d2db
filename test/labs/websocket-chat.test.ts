import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('websocket-chat', { timeoutMs: 120_000 });
