import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('error-handling', { concurrent: true });
