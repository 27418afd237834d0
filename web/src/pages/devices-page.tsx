import { useEffect, useMemo, useState } from 'preact/hooks';
import { Empty, ErrorBox, Loading, NotEnabled } from '../components/common';
import { api, ApiError, describeError } from '../lib/api';
import { clock, every, socket } from '../lib/app-state';
import { displayValue, formatAgo, formatDuration, formatNumber } from '../lib/format';
import { telemetry } from '../lib/live';
import { useStore } from '../lib/store';
import type { Device, PipelineStats } from '../lib/types';

const POLL_MS = 2000;
/** The backlog gauge is logarithmic up to this many queued records (the sink's default bound is 1,000,000). */
const GAUGE_MAX = 1_000_000;

export function DevicesPage() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [stats, setStats] = useState<PipelineStats | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [filter, setFilter] = useState('');
  const live = useStore(telemetry);
  const now = useStore(clock);
  const conn = useStore(socket.state);

  useEffect(() => {
    // Routes do not appear while the gateway runs: once absent, ask again only after a reconnection.
    let absent = false;
    return every(POLL_MS, () => {
      if (absent) return;
      void api<{ devices: Device[] }>('/api/devices').then(
        (b) => {
          setDevices(Array.isArray(b?.devices) ? b.devices : []);
          setError(null);
        },
        (err: unknown) => {
          absent = err instanceof ApiError && err.notEnabled;
          setError(err as Error);
        },
      );
      void api<PipelineStats>('/api/pipeline/stats').then(setStats, () => undefined);
    });
  }, [conn.opens]);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (devices ?? []).filter((d) => !needle || `${d.id} ${d.connector} ${d.connectorType}`.toLowerCase().includes(needle));
  }, [devices, filter]);

  if (error instanceof ApiError && error.notEnabled) {
    return (
      <section class="page">
        <h1>Devices</h1>
        <NotEnabled feature="The data pipeline">
          <p>
            Devices appear when the gateway's configuration file has a <code>pipeline</code> section with connectors (Modbus TCP, MQTT, HTTP, SPORE nodes) and sinks.
            See docs/pipeline.md.
          </p>
        </NotEnabled>
      </section>
    );
  }

  return (
    <section class="page page-devices" aria-labelledby="devices-title">
      <div class="page-head">
        <h1 id="devices-title">Devices</h1>
        <p class="summary">Data from the pipeline's connectors, live from telemetry records; sinks and their store-and-forward backlog.</p>
      </div>
      {error ? <ErrorBox title="Devices could not be read">{describeError(error)}</ErrorBox> : null}
      {stats ? <PipelineStatsView stats={stats} /> : null}
      <section class="card" aria-labelledby="dev-list-title">
        <h2 id="dev-list-title">Devices</h2>
        <div class="toolbar">
          <label class="field grow">
            <span>Filter</span>
            <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} aria-label="Filter devices" placeholder="device or connector" />
          </label>
        </div>
        {devices === null && !error ? (
          <Loading what="devices" />
        ) : devices && devices.length === 0 ? (
          <Empty title="No devices configured">
            <p>Add connectors and their devices to the pipeline section of the configuration file.</p>
          </Empty>
        ) : (
          <div class="devices" data-testid="devices">
            {shown.map((d) => {
              const l = live.get(d.id);
              return (
                <article class="device card" key={d.id} data-device={d.id} aria-label={`Device ${d.id}`}>
                  <header class="device-head">
                    <h3 class="mono">{d.id}</h3>
                    <span class={`cstate cstate-${d.connectorState}`}>{d.connectorState}</span>
                    <span class="muted">
                      {d.connector} · {d.connectorType}
                    </span>
                  </header>
                  <table class="table compact">
                    <thead>
                      <tr>
                        <th scope="col">Channel</th>
                        <th scope="col">Value</th>
                        <th scope="col">Updated</th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.channels.map((c) => {
                        const liveValue = l && c.name in l.values ? l.values[c.name] : undefined;
                        const value = liveValue !== undefined ? liveValue : c.value;
                        const ts = liveValue !== undefined ? l!.ts : c.ts;
                        return (
                          <tr key={c.name}>
                            <td class="mono">
                              {c.name}
                              {c.writable ? (
                                <span class="badge" title="This channel can be written">
                                  w
                                </span>
                              ) : null}
                            </td>
                            <td class="mono value">{displayValue(value)}</td>
                            <td class="muted">{ts ? formatAgo(Date.parse(ts), now) : '–'}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                  <p class="muted small-print">
                    last record: {l ? `seq ${l.seq}, ${formatAgo(Date.parse(l.ts), now)}` : d.lastRecord ? `seq ${d.lastRecord.seq}, ${formatAgo(Date.parse(d.lastRecord.ts), now)}` : 'none yet'}
                  </p>
                </article>
              );
            })}
          </div>
        )}
      </section>
    </section>
  );
}

function PipelineStatsView({ stats }: { stats: PipelineStats }) {
  return (
    <div class="grid-2">
      <section class="card" aria-labelledby="conn-title">
        <h2 id="conn-title">Connectors</h2>
        <table class="table compact" data-testid="connectors">
          <thead>
            <tr>
              <th scope="col">Connector</th>
              <th scope="col">State</th>
              <th scope="col">Polls</th>
              <th scope="col">Errors</th>
              <th scope="col">Reconnects</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {stats.connectors.map((c) => (
              <tr key={c.id}>
                <td>
                  {c.id} <span class="muted">{c.type}</span>
                </td>
                <td>
                  <span class={`cstate cstate-${c.state}`}>{c.state}</span>
                </td>
                <td>{formatNumber(c.polls)}</td>
                <td>{formatNumber(c.errors)}</td>
                <td>{formatNumber(c.reconnects)}</td>
                <td class="muted">{c.lastError ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="sinks-title">
        <h2 id="sinks-title">Sinks</h2>
        {stats.sinks.length === 0 ? <p class="muted">No sink configured.</p> : null}
        {stats.sinks.map((s) => {
          const level = s.queued > 0 ? Math.log10(s.queued + 1) / Math.log10(GAUGE_MAX + 1) : 0;
          return (
            <div class="sink" key={s.id} data-sink={s.id}>
              <h3>
                {s.id} <span class="muted">{s.type}</span>
              </h3>
              <label class="gauge-label">
                Backlog: <strong>{formatNumber(s.queued)}</strong> queued{s.oldestQueuedAgeMs ? `, oldest ${formatDuration(s.oldestQueuedAgeMs)}` : ''}
                <meter min={0} max={1} low={0.33} high={0.66} optimum={0} value={level} aria-label={`${s.id} backlog, ${s.queued} records queued`} />
              </label>
              <p class="muted small-print">
                {formatNumber(s.sent)} sent · {formatNumber(s.dropped)} dropped (buffer full or too old) · gauge is logarithmic up to {formatNumber(GAUGE_MAX)}
              </p>
            </div>
          );
        })}
      </section>
    </div>
  );
}
