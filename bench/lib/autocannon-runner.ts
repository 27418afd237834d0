// The HTTP load generator of bench/core-api-nodes.ts, in its own process (neither the gateway's
// nor the peer's event loop): {cmd:'run', url, connections, seconds} → {result: summary}.
import autocannon from 'autocannon';

process.on('message', (m: { cmd: string; url: string; connections: number; seconds: number }) => {
  if (m.cmd !== 'run') return;
  autocannon({ url: m.url, connections: m.connections, duration: m.seconds, pipelining: 1 }, (err, r) => {
    if (err) process.send!({ error: String(err) });
    // Achieved rate: responses counted ÷ the measured duration.
    else process.send!({ result: { requests: r.requests.total, seconds: r.duration, requestsPerSec: Math.round(r.requests.total / r.duration), p50ms: r.latency.p50, p99ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx } });
  });
});
process.on('disconnect', () => process.exit(0));
process.send!({ started: true });
