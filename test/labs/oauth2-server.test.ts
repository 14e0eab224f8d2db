import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('oauth2-server', { concurrent: true });
