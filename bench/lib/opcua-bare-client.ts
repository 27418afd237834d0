/**
 * The peer of bench/opcua-throughput.ts: a bare node-opcua client, in its own process, that
 * subscribes to the same items with the same parameters and only counts data changes.
 * Env OPCUA_BARE: { endpoint, items, samplingMs, publishingMs, queueSize }. Prints one JSON line
 * per second: {"changes": <total so far>}.
 */
import { AttributeIds, ClientMonitoredItemGroup, OPCUAClient, TimestampsToReturn } from 'node-opcua-client';

const o = JSON.parse(process.env.OPCUA_BARE ?? '{}') as { endpoint: string; items: number; samplingMs: number; publishingMs: number; queueSize: number };
const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 } });
await client.connect(o.endpoint);
const session = await client.createSession();
const subscription = await session.createSubscription2({ requestedPublishingInterval: o.publishingMs, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 60, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 10 });
const items = Array.from({ length: o.items }, (_, i) => ({ nodeId: `ns=1;s=Item${String(i).padStart(4, '0')}`, attributeId: AttributeIds.Value }));
const group = ClientMonitoredItemGroup.create(subscription, items, { samplingInterval: o.samplingMs, discardOldest: true, queueSize: o.queueSize }, TimestampsToReturn.Both);
let changes = 0;
group.on('changed', () => changes++);
setInterval(() => console.log(JSON.stringify({ changes })), 1000);
process.on('SIGTERM', () => void session.close().then(() => client.disconnect()).finally(() => process.exit(0)));
