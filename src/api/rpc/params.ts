import { z } from 'zod';

/** Parameters shared by the JSON-RPC methods (docs/security.md lists the methods). */

/** A method that takes no parameters: `{}` or none at all. */
export const none = z.object({}).strict();

/** A stored id (firmware image, rollout, device, connector). */
export const id = z.string().min(1).max(64);

/** A node's IP as the registry knows it; the service checks it is a known node. */
export const ip = z.string().min(1).max(64);

/** The params of a method about one stored thing: `{id}`. */
export const byId = z.object({ id }).strict();
