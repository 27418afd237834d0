// The peer of bench/core-api-nodes.ts, in its own process: a bare Fastify server answering the
// bytes of the file given as argv[2] from memory on GET <argv[3]> — the ceiling for that route.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const body = readFileSync(process.argv[2]!, 'utf8');
const app = Fastify();
app.get(process.argv[3] ?? '/', async (_req, reply) => reply.type('application/json').send(body));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send!({ started: true, port: typeof address === 'object' && address ? address.port : 0 });
process.on('disconnect', () => process.exit(0));
