import { useMemo, useRef, useState } from 'preact/hooks';
import { Empty, ErrorBox, Loading, NotEnabled } from '../components/common';
import { OpcuaBrowser, ZwaveNodes } from '../components/connector-tools';
import { HistoryChart, RangePicker, type RangeKey } from '../components/history-chart';
import { DataTable, GridCells, type Column } from '../components/data-table';
import { VirtualList } from '../components/virtual-list';
import { api, ApiError, describeError } from '../lib/api';
import { clock, socket } from '../lib/app-state';
import { compareNames, displayValue, formatAgo, formatDuration, formatNumber } from '../lib/format';
import { telemetry, type TelemetryValue } from '../lib/live';
import { useStore } from '../lib/store';
import { useApi } from '../lib/use-api';
import type { DeviceView as Device, PipelineStats } from '../../../src/contract/pipeline';

const POLL_MS = 2000;
const ROW_HEIGHT = 36; // px
/** The backlog gauge is logarithmic up to this many queued records (the sink's default bound is 1,000,000). */
const GAUGE_MAX = 1_000_000;

/** The device list's columns: header and cells (with the live values of `telemetry/<device>`). */
const DEVICE_COLUMNS: Array<Column<Device, { live: TelemetryValue | undefined; now: number }>> = [
  { label: 'Device', cls: 'c-dev', cellClass: 'mono', cell: (d) => d.id },
  {
    label: 'Connector',
    cls: 'c-conn',
    cell: (d) => (
      <>
        <span class={`cstate cstate-${d.connectorState}`}>{d.connectorState}</span>{' '}
        {d.health && d.health.state !== 'unknown' ? (
          <span class={`cstate cstate-${d.health.state === 'ok' ? 'connected' : 'error'}`} data-health={d.health.state} title={d.health.error ?? undefined}>
            {d.health.state}
          </span>
        ) : null}{' '}
        <span class="muted">{d.connector}</span>
        {d.state ? <span class="muted" data-state={d.state}> · {d.state}</span> : null}
      </>
    ),
  },
  { label: 'Values', cls: 'c-values', cellClass: 'mono', cellProps: (d, x) => ({ title: deviceValues(d, x.live) }), cell: (d, x) => deviceValues(d, x.live) },
  {
    label: 'Last record',
    cls: 'c-seen',
    cell: (d, x) => {
      const lastTs = x.live?.ts ?? d.lastRecord?.ts;
      return lastTs ? formatAgo(Date.parse(lastTs), x.now) : '–';
    },
  },
];

function deviceValues(d: Device, l: TelemetryValue | undefined): string {
  return d.channels.map((c) => `${c.name}=${displayValue(l && c.name in l.values ? l.values[c.name] : c.value)}${c.unit ? ` ${c.unit}` : ''}`).join(' · ');
}

const asDevices = (list: unknown): Device[] => (Array.isArray(list) ? (list as Device[]) : []);

export function DevicesPage() {
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(-1);
  const [selected, setSelected] = useState<string | null>(null);
  const live = useStore(telemetry);
  const now = useStore(clock);
  const conn = useStore(socket.state);

  // Routes do not appear while the gateway runs: once absent, ask again only after a reconnection.
  const poll = { deps: [conn.opens], everyMs: POLL_MS, stopWhenAbsent: true };
  const { data: devices, error } = useApi('/api/devices', { ...poll, map: (b) => asDevices((b as { devices?: unknown } | null)?.devices) });
  const { data: stats } = useApi<PipelineStats>('/api/pipeline/stats', poll);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (devices ?? []).filter((d) => !needle || `${d.id} ${d.connector} ${d.connectorType}`.toLowerCase().includes(needle)).sort((a, b) => compareNames(a.id, b.id));
  }, [devices, filter]);

  if (error instanceof ApiError && error.notEnabled) {
    return (
      <section class="page">
        <h1>Devices</h1>
        <NotEnabled feature="The data pipeline">
          <p>
            Devices appear when the gateway's configuration file has a <code>pipeline</code> section with connectors (Modbus, MQTT, HTTP, SPORE nodes, OPC UA, Z-Wave) and sinks.
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
      {stats?.connectors.filter((c) => c.type === 'zwave').map((c) => <ZwaveNodes key={c.id} connector={c.id} />)}
      {stats?.connectors.filter((c) => c.type === 'opcua').map((c) => <OpcuaBrowser key={c.id} connector={c.id} />)}
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
          <div class="events-layout">
            <VirtualList
              label="Devices"
              idPrefix="device-row"
              className="device-list"
              testId="devices"
              count={shown.length}
              rowHeight={ROW_HEIGHT}
              version={`${telemetry.version}:${now}:${shown.length}`}
              activeIndex={active}
              onActiveChange={(i) => {
                setActive(i);
                setSelected(shown[i]?.id ?? null);
              }}
              onActivate={(i) => setSelected(shown[i]?.id ?? null)}
              columns={DEVICE_COLUMNS}
              empty={<p class="muted">No device matches the filter.</p>}
              renderRow={(i) => {
                const d = shown[i]!;
                return (
                  <div class="device-row" data-device={d.id}>
                    <GridCells columns={DEVICE_COLUMNS} row={d} ctx={{ live: live.get(d.id), now }} />
                  </div>
                );
              }}
            />
            <DeviceDetail device={shown.find((d) => d.id === selected) ?? null} live={selected ? live.get(selected) : undefined} now={now} />
          </div>
        )}
      </section>
    </section>
  );
}

type ConnectorStats = PipelineStats['connectors'][number];

const CONNECTOR_COLUMNS: Array<Column<ConnectorStats>> = [
  {
    label: 'Connector',
    cell: (c) => (
      <>
        {c.id} <span class="muted">{c.type}</span>
      </>
    ),
  },
  { label: 'State', cell: (c) => <span class={`cstate cstate-${c.state}`}>{c.state}</span> },
  { label: 'Polls', cell: (c) => formatNumber(c.polls) },
  { label: 'Errors', cell: (c) => formatNumber(c.errors) },
  { label: 'Reconnects', cell: (c) => formatNumber(c.reconnects) },
  { label: 'Last error', cellClass: 'muted', cell: (c) => c.lastError ?? '' },
];

/** A channel's live value (from `telemetry/<device>`) wins over the one the device list was read with. */
const liveValueOf = (c: Device['channels'][number], live: TelemetryValue | undefined) => (live && c.name in live.values ? live.values[c.name] : undefined);

const CHANNEL_COLUMNS: Array<Column<Device['channels'][number], { live: TelemetryValue | undefined; now: number }>> = [
  { label: 'Channel', cellClass: 'mono', cell: (c) => c.name },
  {
    label: 'Value',
    cellClass: 'mono value',
    cell: (c, { live }) => {
      const liveValue = liveValueOf(c, live);
      return (
        <>
          {liveValue === undefined && c.status ? <span class="cstate cstate-error" title="The source reported a bad status">{c.status}</span> : displayValue(liveValue !== undefined ? liveValue : c.value)}
          {c.unit && !(liveValue === undefined && c.status) ? <span class="muted unit"> {c.unit}</span> : null}
        </>
      );
    },
  },
  {
    label: 'Updated',
    cellClass: 'muted',
    cell: (c, { live, now }) => {
      const ts = liveValueOf(c, live) !== undefined ? live!.ts : c.ts;
      return ts ? formatAgo(Date.parse(ts), now) : '–';
    },
  },
];

function PipelineStatsView({ stats }: { stats: PipelineStats }) {
  return (
    <div class="grid-2">
      <section class="card" aria-labelledby="conn-title">
        <h2 id="conn-title">Connectors</h2>
        <DataTable compact testId="connectors" columns={CONNECTOR_COLUMNS} rows={stats.connectors} rowKey={(c) => c.id} />
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
                <span>
                  Backlog: <strong>{formatNumber(s.queued)}</strong> queued{s.oldestQueuedAgeMs ? `, oldest ${formatDuration(s.oldestQueuedAgeMs)}` : ''}
                </span>
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

/** A typed value from a text box: a number, true/false, or the text itself. */
function parseWriteValue(text: string): unknown {
  const t = text.trim();
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return text;
}

function DeviceDetail({ device, live, now }: { device: Device | null; live: TelemetryValue | undefined; now: number }) {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [result, setResult] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  if (!device) {
    return (
      <aside class="card event-detail" aria-label="Device details">
        <p class="muted">Select a device (click, or ↑/↓ in the list) to see its channels{' '}and write the writable ones.</p>
      </aside>
    );
  }
  const write = async (channel: string) => {
    setResult(null);
    try {
      await api(`/api/devices/${encodeURIComponent(device.id)}/write`, { body: { channel, value: parseWriteValue(drafts[channel] ?? '') } });
      setResult({ kind: 'ok', text: `Wrote ${drafts[channel]} to ${device.id}.${channel}.` });
    } catch (err) {
      setResult({ kind: 'error', text: describeError(err) });
    }
  };
  return (
    <aside class="card event-detail" aria-label={`Device ${device.id}`} data-testid="device-detail">
      <h2 class="mono">{device.id}</h2>
      <p>
        <span class={`cstate cstate-${device.connectorState}`}>{device.connectorState}</span>{' '}
        {device.state ? <span class="badge" data-testid="device-state">{device.state}</span> : null}{' '}
        {device.health ? (
          <span class={`cstate cstate-${device.health.state === 'ok' ? 'connected' : device.health.state === 'failing' ? 'error' : 'connecting'}`} data-testid="device-health">
            device {device.health.state}
            {device.health.state === 'failing' ? ` (${device.health.consecutiveFailures}× ${device.health.error ?? ''})` : ''}
          </span>
        ) : null}{' '}
        <span class="muted">
          {device.connector} · {device.connectorType} · last record{' '}
          {live ? `seq ${live.seq}, ${formatAgo(Date.parse(live.ts), now)}` : device.lastRecord ? `seq ${device.lastRecord.seq}, ${formatAgo(Date.parse(device.lastRecord.ts), now)}` : 'none yet'}
        </span>
      </p>
      <DataTable compact columns={CHANNEL_COLUMNS} rows={device.channels} rowKey={(c) => c.name} rowProps={(c) => ({ 'data-channel': c.name })} ctx={{ live, now }} />
      <DeviceCharts key={device.id} device={device} live={live} />
      {device.channels.some((c) => c.writable) ? (
        <>
          <h3>Write</h3>
          {device.channels
            .filter((c) => c.writable)
            .map((c) => (
              <form
                class="param"
                key={c.name}
                onSubmit={(e) => {
                  e.preventDefault();
                  void write(c.name);
                }}
              >
                <label for={`w-${c.name}`}>{c.name}</label>
                <input id={`w-${c.name}`} value={drafts[c.name] ?? ''} onInput={(e) => setDrafts({ ...drafts, [c.name]: e.currentTarget.value })} placeholder="value" />
                <button type="submit" class="small" disabled={(drafts[c.name] ?? '') === ''}>
                  Write
                </button>
              </form>
            ))}
          {result ? (
            <p class={`notice notice-${result.kind}`} role={result.kind === 'error' ? 'alert' : 'status'}>
              {result.text}
            </p>
          ) : null}
        </>
      ) : null}
    </aside>
  );
}

const asNumber = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? (v ? 1 : 0) : null);

/**
 * History of one numeric channel of the device (issue 15 §4): the stored series
 * `devices/<device>/<channel>` from GET /api/history for the chosen range, with the
 * values that arrive on the WebSocket while the page is open appended.
 */
function DeviceCharts({ device, live }: { device: Device; live: TelemetryValue | undefined }) {
  const numeric = device.channels.filter((c) => asNumber(c.value) !== null || (live && asNumber(live.values[c.name]) !== null));
  const [channel, setChannel] = useState<string | null>(null);
  const [range, setRange] = useState<RangeKey>('1h');
  const chosen = numeric.find((c) => c.name === channel) ?? numeric[0];
  // Live samples of the chosen channel since it was chosen (s, value), bounded.
  const samples = useRef<{ channel: string | undefined; t: number[]; v: Array<number | null>; seq: number }>({ channel: undefined, t: [], v: [], seq: -1 });
  const buf = samples.current;
  if (buf.channel !== chosen?.name) Object.assign(buf, { channel: chosen?.name, t: [], v: [], seq: -1 });
  if (chosen && live && live.seq !== buf.seq && chosen.name in live.values) {
    const value = asNumber(live.values[chosen.name]);
    buf.seq = live.seq;
    if (value !== null) {
      buf.t.push(Date.parse(live.ts) / 1000);
      buf.v.push(value);
      if (buf.t.length > 3600) (buf.t.shift(), buf.v.shift());
    }
  }
  if (!chosen) return null;
  return (
    <section class="device-charts" data-testid="device-charts" aria-label={`History of ${device.id}`}>
      <h3>
        History{' '}
        {numeric.length > 1 ? (
          <select aria-label="Channel to chart" value={chosen.name} onChange={(e) => setChannel(e.currentTarget.value)} data-testid="chart-channel">
            {numeric.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        ) : (
          <span class="mono">{chosen.name}</span>
        )}{' '}
        <RangePicker value={range} onChange={setRange} />
      </h3>
      <HistoryChart
        key={chosen.name}
        title={chosen.name}
        unit={chosen.unit ?? ''}
        range={range}
        series={[{ name: `devices/${device.id}/${chosen.name}`, label: `${chosen.name}${chosen.unit ? ` (${chosen.unit})` : ''}`, color: '#3a6fd8' }]}
        live={{ t: buf.t, values: [buf.v], version: `${buf.seq}:${buf.t.length}` }}
      />
    </section>
  );
}
