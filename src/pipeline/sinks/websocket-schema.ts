/** The `websocket` sink's configuration. Schema only (config-schema.ts imports it); the implementation, websocket.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { nameSchema } from '../names.js';

export const websocketSinkSchema = z.object({ id: nameSchema('sink id'), type: z.literal('websocket') }).strict();

export type WebsocketSinkConfig = z.infer<typeof websocketSinkSchema>;
