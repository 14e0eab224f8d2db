import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('webhooks', { concurrent: true });
