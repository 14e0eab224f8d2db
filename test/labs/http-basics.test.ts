import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('http-basics', { concurrent: true });
