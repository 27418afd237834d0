import { http, readResponse } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';

/** Posts an image to the firmware store; returns status and body. */
export async function uploadFirmware(
  url: string,
  image: Uint8Array,
  fields: { name?: string; version?: string; labels?: string; force?: string } = {},
  filename = 'firmware.bin',
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
  form.append('file', new Blob([image]), filename);
  const res = await readResponse(await fetch(`${url}/api/firmware`, { method: 'POST', body: form }));
  // A body that is not JSON is kept as its text.
  return { status: res.status, body: res.body === undefined ? res.text : res.body };
}

/** Stores an image and returns its id (asserting 201). */
export async function storeFirmware(url: string, image: Uint8Array, name: string, version: string): Promise<string> {
  const res = await uploadFirmware(url, image, { name, version });
  if (res.status !== 201) throw new Error(`firmware upload answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function getRollout(url: string, id: string): Promise<any> {
  const res = await http(`${url}/api/rollouts/${id}`);
  if (res.status !== 200) throw new Error(`GET rollout answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Waits until the rollout satisfies `predicate`; returns it. */
export async function waitRollout(url: string, id: string, predicate: (r: any) => boolean, what: string, timeoutMs = 30_000): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      async () => {
        last = await getRollout(url, id);
        return predicate(last) ? last : undefined;
      },
      what,
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export const isTerminal = (r: any): boolean => ['succeeded', 'failed', 'cancelled'].includes(r.status) && r.finishedAt !== null;
