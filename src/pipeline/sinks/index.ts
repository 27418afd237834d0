import type { SinkDefinition } from '../types.js';
import { fileSink, fileSinkSchema } from './file.js';
import { mqttSink, mqttSinkSchema } from './mqtt.js';
import { sparkplugSink, sparkplugSinkSchema } from './sparkplug.js';
import { websocketSink, websocketSinkSchema } from './websocket.js';

/** Every sink type by its `type` name. */
export const SINK_TYPES: ReadonlyMap<string, SinkDefinition<any>> = new Map([mqttSink, sparkplugSink, websocketSink, fileSink].map((s) => [s.type, s as SinkDefinition<any>]));

/** The sink schemas, one member per type of the `type` union. */
export const SINK_SCHEMAS = [mqttSinkSchema, sparkplugSinkSchema, websocketSinkSchema, fileSinkSchema] as const;
