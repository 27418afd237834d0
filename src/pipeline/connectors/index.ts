import type { ConnectorDefinition } from '../types.js';
import { httpConnector, httpConnectorSchema } from './http.js';
import { mbusConnector, mbusSchema, mbusTcpConnector, mbusTcpSchema } from './mbus.js';
import { modbusRtuTcpConnector, modbusRtuTcpSchema } from './modbus-rtu-tcp.js';
import { modbusRtuConnector, modbusRtuSchema } from './modbus-rtu.js';
import { modbusTcpConnector, modbusTcpSchema } from './modbus-tcp.js';
import { mqttConnector, mqttConnectorSchema } from './mqtt.js';
import { opcuaConnector, opcuaConnectorSchema } from './opcua.js';
import { sporeConnector, sporeConnectorSchema } from './spore.js';
import { zwaveConnector, zwaveConnectorSchema } from './zwave.js';

/**
 * Every connector type by its `type` name. The opcua and zwave modules import only their
 * schemas and types here; their libraries are loaded with import() when one is started.
 */
export const CONNECTOR_TYPES: ReadonlyMap<string, ConnectorDefinition<any>> = new Map(
  [modbusTcpConnector, modbusRtuConnector, modbusRtuTcpConnector, mbusConnector, mbusTcpConnector, mqttConnector, httpConnector, sporeConnector, opcuaConnector, zwaveConnector].map((c) => [c.type, c as ConnectorDefinition<any>]),
);

/** The connector schemas, one member per type of the `type` union. */
export const CONNECTOR_SCHEMAS = [modbusTcpSchema, modbusRtuSchema, modbusRtuTcpSchema, mbusSchema, mbusTcpSchema, mqttConnectorSchema, httpConnectorSchema, sporeConnectorSchema, opcuaConnectorSchema, zwaveConnectorSchema] as const;
