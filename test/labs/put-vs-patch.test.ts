import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('put-vs-patch', { concurrent: true });
