import { createServer } from 'node:net';

/** `preferred` when nothing listens there, otherwise a free port the system picks. */
export async function firstFreePort(preferred: number, host: string): Promise<number> {
  const tryPort = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, host, () => {
        const bound = (server.address() as { port: number }).port;
        server.close(() => resolve(bound));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0)) ?? 0;
}
