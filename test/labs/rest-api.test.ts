import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('rest-api', { concurrent: true });
