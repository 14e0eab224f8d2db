// containerize builds every variant's Dockerfile and runs it in Docker (no init: the image's PID 1 gets
// the signals). Without Docker these tests fail with the grader's "no Docker" message; they never skip.
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('containerize', { timeoutMs: 240_000 });
