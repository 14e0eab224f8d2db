// message-queue needs PostgreSQL and RabbitMQ (Docker) and runs two learner processes (api, consumer).
import { verifyLab } from '../helpers/verify-lab.ts';

verifyLab('message-queue', { timeoutMs: 240_000, concurrent: true });
