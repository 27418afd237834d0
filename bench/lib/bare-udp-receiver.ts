// A bare UDP receiver that only counts datagrams: the ceiling peer for bench/core-udp-ingest.ts.
import dgram from 'node:dgram';

const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
let count = 0;
socket.on('message', () => count++);
socket.bind(0, '0.0.0.0', () => {
  socket.setRecvBufferSize(4 * 1024 * 1024); // bytes — same as the gateway's default
  process.send!({ started: true, port: socket.address().port });
});
process.on('message', () => process.send!({ count }));
process.on('disconnect', () => process.exit(0));
