import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('jwt-auth');
