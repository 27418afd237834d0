/**
 * A real node-opcua server for the OPC UA connector tests and benchmark, run as its own
 * process so that a test can SIGKILL it and start it again on the same port.
 *
 * Options come as JSON in OPCUA_TEST_SERVER (see opcua-server.ts). Address space, in ns=1:
 *   Plant/Temperature  Double, changes every `changeMs` (a counter, so every sample differs)
 *   Plant/Setpoint     Double, writable
 *   Plant/Enabled      Boolean, writable
 *   Plant/Broken       Double whose status is BadSensorFailure
 *   Bulk/Item0000…     `items` Doubles, all changing every `changeMs` (the benchmark)
 * Prints "READY <port>" once listening.
 */
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { DataType, MessageSecurityMode, SecurityPolicy, StatusCodes, Variant } from 'node-opcua-client';
import { nodesets } from 'node-opcua-nodesets';
import { OPCUAServer } from 'node-opcua-server';

interface Options {
  port: number;
  pkiDir: string;
  users: Record<string, string>;
  allowAnonymous: boolean;
  /** None, SignAndEncrypt, or both. */
  secure: boolean;
  changeMs: number;
  items: number;
}

const opts = JSON.parse(process.env.OPCUA_TEST_SERVER ?? '{}') as Options;

const certificateManager = new OPCUACertificateManager({ rootFolder: opts.pkiDir, automaticallyAcceptUnknownCertificate: true });
await certificateManager.initialize();

const server = new OPCUAServer({
  port: opts.port,
  host: '127.0.0.1', // loopback only
  hostname: '127.0.0.1',
  resourcePath: '/UA/Test',
  nodeset_filename: [nodesets.standard],
  serverCertificateManager: certificateManager,
  securityModes: opts.secure ? [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
  securityPolicies: opts.secure ? [SecurityPolicy.None, SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
  allowAnonymous: opts.allowAnonymous,
  userManager: { isValidUser: (user: string, password: string) => opts.users[user] !== undefined && opts.users[user] === password },
  maxConnectionsPerEndpoint: 50,
  serverCapabilities: { maxMonitoredItemsPerSubscription: 100_000 } as never,
});
await server.initialize();

const ns = server.engine.addressSpace!.getOwnNamespace();
const objects = server.engine.addressSpace!.rootFolder.objects;
const plant = ns.addFolder(objects, { browseName: 'Plant', nodeId: 's=Plant' });
let tick = 0;
let setpoint = 20;
let enabled = false;
const temperature = ns.addVariable({ componentOf: plant, browseName: 'Temperature', nodeId: 's=Temperature', dataType: 'Double' });
temperature.setValueFromSource(new Variant({ dataType: DataType.Double, value: 20 }));
ns.addVariable({
  componentOf: plant,
  browseName: 'Setpoint',
  nodeId: 's=Setpoint',
  dataType: 'Double',
  minimumSamplingInterval: 50,
  accessLevel: 'CurrentRead | CurrentWrite',
  userAccessLevel: 'CurrentRead | CurrentWrite',
  value: {
    get: () => new Variant({ dataType: DataType.Double, value: setpoint }),
    set: (v: Variant) => {
      setpoint = Number(v.value);
      console.log(`WROTE Setpoint ${setpoint}`);
      return StatusCodes.Good;
    },
  },
});
ns.addVariable({
  componentOf: plant,
  browseName: 'Enabled',
  nodeId: 's=Enabled',
  dataType: 'Boolean',
  minimumSamplingInterval: 50,
  accessLevel: 'CurrentRead | CurrentWrite',
  userAccessLevel: 'CurrentRead | CurrentWrite',
  value: {
    get: () => new Variant({ dataType: DataType.Boolean, value: enabled }),
    set: (v: Variant) => {
      enabled = Boolean(v.value);
      console.log(`WROTE Enabled ${enabled}`);
      return StatusCodes.Good;
    },
  },
});
const broken = ns.addVariable({ componentOf: plant, browseName: 'Broken', nodeId: 's=Broken', dataType: 'Double' });
broken.setValueFromSource(new Variant({ dataType: DataType.Double, value: 0 }), StatusCodes.BadSensorFailure);

const bulk: Array<{ setValueFromSource(v: Variant): void }> = [];
if (opts.items > 0) {
  const folder = ns.addFolder(objects, { browseName: 'Bulk', nodeId: 's=Bulk' });
  for (let i = 0; i < opts.items; i++) {
    const id = `Item${String(i).padStart(4, '0')}`;
    const v = ns.addVariable({ componentOf: folder, browseName: id, nodeId: `s=${id}`, dataType: 'Double' });
    v.setValueFromSource(new Variant({ dataType: DataType.Double, value: 0 }));
    bulk.push(v);
  }
}

setInterval(() => {
  tick++;
  temperature.setValueFromSource(new Variant({ dataType: DataType.Double, value: 20 + tick / 10 }));
  for (let i = 0; i < bulk.length; i++) bulk[i]!.setValueFromSource(new Variant({ dataType: DataType.Double, value: tick + i / 10_000 }));
}, opts.changeMs);

await server.start();
console.log(`READY ${opts.port}`);
process.on('SIGTERM', () => {
  void server.shutdown(0).then(() => process.exit(0));
});
