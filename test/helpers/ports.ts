// After a run, nothing of it may still accept connections: each of these ports must refuse.
import { connect } from 'node:net';
import { expect } from 'vitest';

export async function expectPortsRefuse(ports: number[]): Promise<void> {
  for (const port of ports) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused, `port ${port} still accepts`).toBe(true);
  }
}
