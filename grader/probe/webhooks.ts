// Standard Webhooks (https://www.standardwebhooks.com/) for checks: signing requests the grader sends to a
// receiver, verifying requests a sender delivers to the grader. The signing itself is the reference
// library's (`standardwebhooks`), loaded on first use so loading a lab stays cheap.
import type { Random } from '../random.ts';

type StandardWebhooks = typeof import('standardwebhooks');
let lib: Promise<StandardWebhooks> | undefined;
function load(): Promise<StandardWebhooks> {
  lib ??= import('standardwebhooks');
  return lib;
}

/** A `whsec_` secret: base64 of `bytes` seeded random bytes. */
export function webhookSecret(random: Random, bytes = 24): string {
  const key = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) key[i] = random.int(0, 255);
  return `whsec_${key.toString('base64')}`;
}

/** `v1,<base64 HMAC-SHA256>` over `${id}.${timestamp}.${payload}` with the secret's key. */
export async function signWebhook(secret: string, id: string, timestampSeconds: number, payload: string | Buffer): Promise<string> {
  const { Webhook } = await load();
  return new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), typeof payload === 'string' ? payload : payload.toString('utf8'));
}

/** The three headers for a signed delivery. */
export async function webhookHeaders(secret: string, id: string, timestampSeconds: number, payload: string | Buffer): Promise<Record<string, string>> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': await signWebhook(secret, id, timestampSeconds, payload),
  };
}

export type WebhookVerification = { ok: true } | { ok: false; reason: string };

/** Checks a delivery the way a receiver must: headers present, timestamp within 5 minutes, a matching v1 signature. */
export async function verifyWebhook(secret: string, payload: Buffer | string, headers: Record<string, string | string[] | undefined>): Promise<WebhookVerification> {
  const { Webhook } = await load();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    if (!flat[name]) return { ok: false, reason: `the \`${name}\` header is missing` };
  }
  if (!/^\d+$/.test(flat['webhook-timestamp'])) return { ok: false, reason: `\`webhook-timestamp\` must be integer seconds since the epoch, got ${JSON.stringify(flat['webhook-timestamp'])}` };
  try {
    new Webhook(secret).verify(typeof payload === 'string' ? payload : payload.toString('utf8'), flat, { jsonParse: false });
    return { ok: true };
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    if (/too old|too new/i.test(message)) return { ok: false, reason: `\`webhook-timestamp\` ${flat['webhook-timestamp']} is more than 5 minutes away from now (${Math.floor(Date.now() / 1000)})` };
    return { ok: false, reason: `no \`v1,\` entry of \`webhook-signature\` matches HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>") with the base64-decoded secret after \`whsec_\`` };
  }
}
