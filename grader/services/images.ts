// Every container image the grader runs, pinned in one place. Real users pull these official images on
// first use; `labs doctor` reports which ones are already present locally.
export const IMAGES = {
  /** PostgreSQL for labs that declare `services: ['postgres']`. */
  postgres: 'postgres:16-alpine',
  /** Redis for labs that declare `services: ['redis']`. */
  redis: 'redis:7-alpine',
  /** RabbitMQ (with the management API) for labs that declare `services: ['rabbitmq']`. */
  rabbitmq: 'rabbitmq:4.2.5-management-alpine',
  /** The base image of templates/typescript/Dockerfile (`labs check --runtime docker`). */
  node: 'node:20-slim',
  /** The base image of templates/python/Dockerfile. */
  python: 'python:3.12-slim',
} as const;

export type ImageKey = keyof typeof IMAGES;
