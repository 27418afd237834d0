import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../route-deps.js';
import { GatewayError } from '../../errors.js';
import { backupRouteDocs } from '../openapi/operations-route-docs.js';

/** Archive bodies a restore accepts; parsed as a stream, never held in memory whole. */
const ARCHIVE_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream', 'application/x-tar+gzip'];

/** Issue 15 §5: `GET /api/backup` streams one archive; `POST /api/restore` applies one. */
export function registerBackupRoutes(app: FastifyInstance, { backup }: Pick<RouteDeps, 'backup'>): void {
  const docs = backupRouteDocs();
  app.get('/api/backup', docs.backup, async (_req, reply) => {
    const archive = await backup.create();
    const name = `spore-backup-${archive.manifest.gateway}-${archive.manifest.createdAt.replace(/[:.]/g, '-')}.tar.gz`;
    reply.raw.once('close', () => void archive.cleanup());
    return reply.type('application/gzip').header('content-disposition', `attachment; filename="${name}"`).send(archive.stream);
  });
  // A child scope: the archive parser applies to this route only.
  void app.register(async (scope) => {
    scope.addContentTypeParser(ARCHIVE_TYPES, (_req, payload, done) => done(null, payload));
    scope.post<{ Body: AsyncIterable<Buffer> }>('/api/restore', docs.restore, async (req) => {
      if (!req.body || typeof (req.body as AsyncIterable<Buffer>)[Symbol.asyncIterator] !== 'function') {
        throw new GatewayError('invalid_backup', 'send the archive as the request body with content-type application/gzip');
      }
      return backup.restore(req.body);
    });
  });
}
