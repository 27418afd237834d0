/** The `opcua` connector's configuration. Schema only (config-schema.ts imports it); the implementation, opcua.ts, is loaded with import() when one is configured (issue 16 §3). */
import { z } from 'zod';
import { nameSchema } from '../names.js';
import { ALWAYS, channelObject, deviceObject } from '../schema-util.js';

const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
const SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;

const channelSchema = channelObject({
  /** An OPC UA node id in its string form, e.g. ns=1;s=Temperature or ns=2;i=1001. */
  nodeId: z
    .string({ error: 'nodeId is required, e.g. "ns=1;s=Temperature"' })
    .regex(/^(ns=\d+;)?[isgb]=.+$|^nsu=[^;]+;[isgb]=.+$/, 'nodeId must look like ns=1;s=Temperature, ns=2;i=1001, i=2258 or nsu=<uri>;s=…'),
  /** Allows POST /api/devices/{id}/write; the value is sent with the node's own data type. */
  writable: z.boolean().default(false),
});

const deviceSchema = deviceObject({}, channelSchema);


export const opcuaConnectorSchema = z
  .object({
    id: nameSchema('connector id'),
    type: z.literal('opcua'),
    endpoint: z.string({ error: 'endpoint is required, e.g. "opc.tcp://10.0.0.30:4840/UA/Server"' }).regex(/^opc\.tcp:\/\/[^/\s]+/, 'endpoint must be an opc.tcp:// URL, e.g. "opc.tcp://10.0.0.30:4840/UA/Server"'),
    securityMode: z.enum(SECURITY_MODES).default('None'),
    /** Defaults to None with securityMode None, Basic256Sha256 otherwise. */
    securityPolicy: z.enum(SECURITY_POLICIES).optional(),
    /** Both or neither; neither: anonymous. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** Accept a server certificate that is not in the trust list (and add it there). Off: copy it to <dataDir>/opcua/pki/trusted/certs. */
    trustServerCertificate: z.boolean().default(false),
    /** ms: how often the server samples each node. */
    samplingMs: z.number().int().min(0).default(1000),
    /** ms: how often the server sends the changes. */
    publishingMs: z.number().int().min(10).default(1000),
    /** Changes each monitored item may queue on the server between two publishes. */
    queueSize: z.number().int().min(1).max(10_000).default(10),
    /** ms to wait for a connection, a session or an answer. */
    timeoutMs: z.number().int().min(100).default(10_000),
    reconnect: z
      .object({
        initialMs: z.number().int().min(10).default(500),
        /** ms: at most this between two tries (node-opcua's own default is 20 s; ours 5 s). */
        maxMs: z.number().int().min(10).default(5000),
      })
      .strict()
      .prefault({}),
    devices: z.array(deviceSchema).min(1, 'an opcua connector needs at least one device'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.username === undefined) !== (c.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.username === undefined ? 'username' : 'password'], message: 'give both username and password, or neither (anonymous)' });
    }
    if (c.securityMode === 'None' && c.securityPolicy !== undefined && c.securityPolicy !== 'None') {
      ctx.addIssue({ code: 'custom', path: ['securityPolicy'], message: `securityMode None takes securityPolicy None (or leave it out), not ${c.securityPolicy}` });
    }
    if ((c.securityMode === 'Sign' || c.securityMode === 'SignAndEncrypt') && c.securityPolicy === 'None') {
      ctx.addIssue({ code: 'custom', path: ['securityPolicy'], message: `securityMode ${c.securityMode} needs a policy: ${SECURITY_POLICIES.slice(1).join(', ')}` });
    }
  }, ALWAYS);

export type OpcuaConfig = z.infer<typeof opcuaConnectorSchema>;
