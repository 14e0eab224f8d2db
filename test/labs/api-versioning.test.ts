import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('api-versioning', { concurrent: true });
