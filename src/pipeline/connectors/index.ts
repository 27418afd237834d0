import type { ConnectorDefinition } from '../types.js';
import { httpConnector, httpConnectorSchema } from './http.js';
import { modbusRtuTcpConnector, modbusRtuTcpSchema } from './modbus-rtu-tcp.js';
import { modbusRtuConnector, modbusRtuSchema } from './modbus-rtu.js';
import { modbusTcpConnector, modbusTcpSchema } from './modbus-tcp.js';
import { mqttConnector, mqttConnectorSchema } from './mqtt.js';
import { sporeConnector, sporeConnectorSchema } from './spore.js';

/** Every connector type by its `type` name. */
export const CONNECTOR_TYPES: ReadonlyMap<string, ConnectorDefinition<any>> = new Map(
  [modbusTcpConnector, modbusRtuConnector, modbusRtuTcpConnector, mqttConnector, httpConnector, sporeConnector].map((c) => [c.type, c as ConnectorDefinition<any>]),
);

/** The connector schemas, one member per type of the `type` union. */
export const CONNECTOR_SCHEMAS = [modbusTcpSchema, modbusRtuSchema, modbusRtuTcpSchema, mqttConnectorSchema, httpConnectorSchema, sporeConnectorSchema] as const;
