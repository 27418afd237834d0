import type { ConnectorDefinition } from '../types.js';
import { httpConnectorSchema } from './http-schema.js';
import { mbusSchema, mbusTcpSchema } from './mbus-schema.js';
import { modbusRtuTcpSchema } from './modbus-rtu-tcp-schema.js';
import { modbusRtuSchema } from './modbus-rtu-schema.js';
import { modbusTcpSchema } from './modbus-tcp-schema.js';
import { mqttConnectorSchema } from './mqtt-schema.js';
import { opcuaConnectorSchema } from './opcua-schema.js';
import { sporeConnectorSchema } from './spore-schema.js';
import { zwaveConnectorSchema } from './zwave-schema.js';

/** The connector schemas, one member per type of the `type` union (schemas only: no implementation is loaded here). */
export const CONNECTOR_SCHEMAS = [modbusTcpSchema, modbusRtuSchema, modbusRtuTcpSchema, mbusSchema, mbusTcpSchema, mqttConnectorSchema, httpConnectorSchema, sporeConnectorSchema, opcuaConnectorSchema, zwaveConnectorSchema] as const;

type ConnectorType = (typeof CONNECTOR_SCHEMAS)[number]['shape']['type']['value'];

/**
 * Every connector type by its `type` name, as a loader: a connector's implementation is
 * imported only when one of its type is configured or tested (issue 16 §3: an idle gateway
 * loads none of them). The large libraries (node-opcua, zwave-js, modbus-serial, mqtt.js)
 * are imported later still, when the connector starts.
 */
export const CONNECTOR_TYPES: ReadonlyMap<string, () => Promise<ConnectorDefinition<any>>> = new Map(
  Object.entries({
    'modbus-tcp': async () => (await import('./modbus-tcp.js')).modbusTcpConnector,
    'modbus-rtu': async () => (await import('./modbus-rtu.js')).modbusRtuConnector,
    'modbus-rtu-tcp': async () => (await import('./modbus-rtu-tcp.js')).modbusRtuTcpConnector,
    mbus: async () => (await import('./mbus.js')).mbusConnector,
    'mbus-tcp': async () => (await import('./mbus.js')).mbusTcpConnector,
    mqtt: async () => (await import('./mqtt.js')).mqttConnector,
    http: async () => (await import('./http.js')).httpConnector,
    spore: async () => (await import('./spore.js')).sporeConnector,
    opcua: async () => (await import('./opcua.js')).opcuaConnector,
    zwave: async () => (await import('./zwave.js')).zwaveConnector,
  } satisfies Record<ConnectorType, () => Promise<ConnectorDefinition<any>>>),
);
