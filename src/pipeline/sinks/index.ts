import type { SinkDefinition } from '../types.js';
import { fileSinkSchema } from './file-schema.js';
import { mqttSinkSchema } from './mqtt-schema.js';
import { sparkplugSinkSchema } from './sparkplug-schema.js';
import { websocketSinkSchema } from './websocket-schema.js';

/** The sink schemas, one member per type of the `type` union (schemas only: no implementation is loaded here). */
export const SINK_SCHEMAS = [mqttSinkSchema, sparkplugSinkSchema, websocketSinkSchema, fileSinkSchema] as const;

type SinkType = (typeof SINK_SCHEMAS)[number]['shape']['type']['value'];

/** Every sink type by its `type` name, as a loader: an implementation is imported only when configured (issue 16 §3). */
export const SINK_TYPES: ReadonlyMap<string, () => Promise<SinkDefinition<any>>> = new Map(
  Object.entries({
    mqtt: async () => (await import('./mqtt.js')).mqttSink,
    sparkplug: async () => (await import('./sparkplug.js')).sparkplugSink,
    websocket: async () => (await import('./websocket.js')).websocketSink,
    file: async () => (await import('./file.js')).fileSink,
  } satisfies Record<SinkType, () => Promise<SinkDefinition<any>>>),
);
