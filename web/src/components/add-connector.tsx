import { useState } from 'preact/hooks';
import { api } from '../lib/api';
import { DataTable, type Column } from './data-table';
import { ProblemList, problemsOf, SaveOutcome, type Problem, type SaveResult } from './config-feedback';

/**
 * "Add a connector" in Settings (issue 15 §1): fill in, test the connection (a Modbus read, an
 * HTTP fetch, an MQTT connect, an M-Bus readout), save. For M-Bus, "Scan the bus" first lists
 * the meters on the line with their records, and "Use" fills in the address and record.
 */

type ConnectorType = 'modbus-tcp' | 'http' | 'mqtt' | 'mbus' | 'mbus-tcp';

interface ConnectorDraft {
  type: ConnectorType;
  id: string;
  host: string;
  port: string;
  unitId: string;
  device: string;
  channel: string;
  address: string;
  url: string;
  path: string;
  topic: string;
  pollMs: string;
  /** M-Bus: the serial device, its speed, the record index, the answer timeout and the scan range. */
  serialPath: string;
  baudRate: string;
  record: string;
  timeoutMs: string;
  scanFrom: string;
  scanTo: string;
}

const DEFAULT_PORT: Partial<Record<ConnectorType, string>> = { 'modbus-tcp': '502', 'mbus-tcp': '10001' };
const DEFAULT_POLL: Record<ConnectorType, string> = { 'modbus-tcp': '1000', http: '5000', mqtt: '', mbus: '60000', 'mbus-tcp': '60000' };

const num = (s: string, fallback: number) => (s.trim() === '' ? fallback : Number(s));

/** The M-Bus line settings alone (what the scan needs). */
function mbusLine(d: ConnectorDraft): Record<string, unknown> {
  const timing = { timeoutMs: num(d.timeoutMs, 500) };
  return d.type === 'mbus' ? { type: 'mbus', path: d.serialPath, baudRate: num(d.baudRate, 2400), ...timing } : { type: 'mbus-tcp', host: d.host, port: num(d.port, 10001), ...timing };
}

function connectorConfig(d: ConnectorDraft): Record<string, unknown> {
  if (d.type === 'modbus-tcp') {
    return {
      id: d.id,
      type: 'modbus-tcp',
      host: d.host,
      port: num(d.port, 502),
      unitId: num(d.unitId, 1),
      pollMs: num(d.pollMs, 1000),
      devices: [{ id: d.device, channels: [{ name: d.channel, address: num(d.address, 0) }] }],
    };
  }
  if (d.type === 'mbus' || d.type === 'mbus-tcp') {
    return { id: d.id, ...mbusLine(d), pollMs: num(d.pollMs, 60_000), devices: [{ id: d.device, address: num(d.address, 0), channels: [{ name: d.channel, record: num(d.record, 0) }] }] };
  }
  if (d.type === 'http') return { id: d.id, type: 'http', url: d.url, pollMs: num(d.pollMs, 5000), device: d.device, channels: { [d.channel]: d.path } };
  return { id: d.id, type: 'mqtt', url: d.url, subscribe: [{ topic: d.topic, device: d.device, channels: { [d.channel]: d.path } }] };
}

interface SurveyedMeter {
  address: number;
  id: string | null;
  manufacturer: string | null;
  medium: number | null;
  records: Array<{ index: number; quantity: string; unit: string | null; value: number | string; function: string; storage: number }>;
  error: string | null;
}

/** EN 13757-3 table 3, the media one meets. */
const MEDIA: Record<number, string> = { 0x02: 'electricity', 0x03: 'gas', 0x04: 'heat', 0x06: 'hot water', 0x07: 'water', 0x0c: 'heat (inlet)', 0x0d: 'heat/cooling', 0x16: 'cold water' };

/** "flow temperature" → "flowTemperature": a valid channel name (1-64 of [A-Za-z0-9._-]). */
const channelName = (quantity: string, index: number) =>
  (quantity.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^./, (c) => c.toLowerCase()) || `record${index}`).slice(0, 64);

export function AddConnector({ readOnly }: { readOnly: boolean }) {
  const [d, setD] = useState<ConnectorDraft>({
    type: 'modbus-tcp',
    id: '',
    host: '',
    port: '502',
    unitId: '1',
    device: '',
    channel: '',
    address: '0',
    url: '',
    path: '$.value',
    topic: '',
    pollMs: '1000',
    serialPath: '',
    baudRate: '2400',
    record: '0',
    timeoutMs: '500',
    scanFrom: '0',
    scanTo: '20',
  });
  const [probe, setProbe] = useState<{ ok: boolean; error: string | null; readings: Record<string, Record<string, unknown>> } | null>(null);
  const [scan, setScan] = useState<{ meters: SurveyedMeter[]; from: number; to: number; tookMs: number } | null>(null);
  const [busy, setBusy] = useState<'test' | 'scan' | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<SaveResult | null>(null);
  const mbus = d.type === 'mbus' || d.type === 'mbus-tcp';
  const field = (key: keyof ConnectorDraft, label: string, props: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`conn-${key}`}>{label}</label>
      <input id={`conn-${key}`} name={key} value={d[key]} onInput={(e) => setD({ ...d, [key]: e.currentTarget.value })} {...props} />
    </div>
  );
  const setType = (type: ConnectorType) => {
    // Defaults that belong to the previous type (Modbus port 502, its poll interval) follow the new one.
    const port = Object.values(DEFAULT_PORT).includes(d.port) || d.port === '' ? (DEFAULT_PORT[type] ?? d.port) : d.port;
    const pollMs = Object.values(DEFAULT_POLL).includes(d.pollMs) ? DEFAULT_POLL[type] : d.pollMs;
    setD({ ...d, type, port, pollMs });
    setProbe(null);
    setScan(null);
  };
  const run = async (what: 'test' | 'scan') => {
    setBusy(what);
    setProblems([]);
    setError(null);
    if (what === 'test') setProbe(null);
    else setScan(null);
    try {
      if (what === 'test') setProbe(await api('/api/config/test-connector', { method: 'POST', body: connectorConfig(d) }));
      else setScan(await api('/api/config/scan-connector', { method: 'POST', body: { connector: mbusLine(d), from: num(d.scanFrom, 0), to: num(d.scanTo, 250) } }));
    } catch (err) {
      setProblems(problemsOf(err));
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const use = (m: SurveyedMeter, r: SurveyedMeter['records'][number]) =>
    setD({ ...d, address: String(m.address), record: String(r.index), channel: d.channel || channelName(r.quantity, r.index), device: d.device || (m.id ? `meter-${m.id}` : `meter-${m.address}`) });
  const save = async () => {
    setProblems([]);
    setError(null);
    try {
      const current = await api<{ document: { connectors?: unknown[] } | null }>('/api/config/pipeline');
      const doc = current.document ?? {};
      setResult(await api<SaveResult>('/api/config/pipeline', { method: 'PUT', body: { ...doc, connectors: [...(doc.connectors ?? []), connectorConfig(d)] } }));
    } catch (err) {
      setProblems(problemsOf(err));
      setError(err);
    }
  };
  if (readOnly) return <p class="muted">The configuration is read-only here.</p>;
  const scanFrom = num(d.scanFrom, 0);
  const scanTo = num(d.scanTo, 250);
  return (
    <div class="add-connector" data-testid="add-connector">
      <div class="form-grid">
        <div class="field">
          <label for="conn-type">Type</label>
          <select id="conn-type" name="type" value={d.type} onChange={(e) => setType(e.currentTarget.value as ConnectorType)}>
            <option value="modbus-tcp">Modbus TCP</option>
            <option value="http">HTTP (JSON)</option>
            <option value="mqtt">MQTT</option>
            <option value="mbus">M-Bus (serial)</option>
            <option value="mbus-tcp">M-Bus over TCP</option>
          </select>
        </div>
        {field('id', 'Connector id', { placeholder: mbus ? 'meters' : 'plc-1', required: true })}
        {field('device', 'Device id', { placeholder: mbus ? 'heat-meter' : 'boiler', required: true })}
        {field('channel', 'Channel name', { placeholder: mbus ? 'energy' : 'temperature', required: true })}
        {d.type === 'modbus-tcp' ? (
          <>
            {field('host', 'Host', { placeholder: '192.168.1.50' })}
            {field('port', 'Port', { type: 'number' })}
            {field('unitId', 'Unit id', { type: 'number' })}
            {field('address', 'Holding register (0-based)', { type: 'number' })}
          </>
        ) : mbus ? (
          <>
            {d.type === 'mbus' ? (
              <>
                {field('serialPath', 'Serial device', { placeholder: '/dev/ttyUSB0' })}
                {field('baudRate', 'Baud rate', { type: 'number' })}
              </>
            ) : (
              <>
                {field('host', 'Serial device server', { placeholder: '192.168.1.60' })}
                {field('port', 'Port', { type: 'number' })}
              </>
            )}
            {field('address', 'Primary address (0-250)', { type: 'number' })}
            {field('record', 'Record index (0 = first)', { type: 'number' })}
            {field('timeoutMs', 'Answer timeout (ms)', { type: 'number' })}
          </>
        ) : (
          <>
            {field('url', d.type === 'http' ? 'URL' : 'Broker URL', { placeholder: d.type === 'http' ? 'http://device/status' : 'mqtt://broker:1883' })}
            {d.type === 'mqtt' ? field('topic', 'Topic', { placeholder: 'sensors/+/state' }) : null}
            {field('path', 'JSON path of the value', {})}
          </>
        )}
        {d.type !== 'mqtt' ? field('pollMs', 'Poll every (ms)', { type: 'number' }) : null}
      </div>
      {mbus ? (
        <div class="mbus-scan" data-testid="mbus-scan">
          <div class="toolbar">
            {field('scanFrom', 'Scan from address', { type: 'number', min: 0, max: 250 })}
            {field('scanTo', 'to', { type: 'number', min: 0, max: 250 })}
            <button type="button" onClick={() => void run('scan')} disabled={busy !== null}>
              {busy === 'scan' ? 'Scanning…' : 'Scan the bus'}
            </button>
          </div>
          <p class="muted small-print">
            A silent address costs the answer timeout: this range takes up to {Math.max(0, Math.ceil(((scanTo - scanFrom + 1) * (num(d.timeoutMs, 500) + 50)) / 1000))} s.
          </p>
          {scan ? <ScanResult scan={scan} onUse={use} /> : null}
        </div>
      ) : null}
      <div class="toolbar">
        <button type="button" onClick={() => void run('test')} disabled={busy !== null}>
          {busy === 'test' ? 'Testing…' : 'Test connection'}
        </button>
        <button type="button" class="primary" onClick={() => void save()}>
          Save connector
        </button>
      </div>
      {probe ? (
        <p class={`banner ${probe.ok ? 'banner-ok' : 'banner-warn'}`} data-testid="probe-result" data-ok={String(probe.ok)}>
          {probe.ok ? `Connection works. Read: ${JSON.stringify(probe.readings)}` : `Connection failed: ${probe.error}`}
        </p>
      ) : null}
      <ProblemList problems={problems} error={problems.length ? undefined : error} />
      <SaveOutcome result={result} />
    </div>
  );
}

type MeterRecord = SurveyedMeter['records'][number];

const RECORD_COLUMNS: Array<Column<MeterRecord, { meter: SurveyedMeter; onUse: (m: SurveyedMeter, r: MeterRecord) => void }>> = [
  { label: 'Record', cellClass: 'mono', cell: (r) => r.index },
  {
    label: 'Quantity',
    cell: (r) => (
      <>
        {r.quantity}
        {r.function !== 'instantaneous' ? ` (${r.function})` : ''}
        {r.storage ? ` · storage ${r.storage}` : ''}
      </>
    ),
  },
  {
    label: 'Value',
    cellClass: 'mono',
    cell: (r) => (
      <>
        {String(r.value)}
        {r.unit ? ` ${r.unit}` : ''}
      </>
    ),
  },
  {
    label: 'Use',
    hiddenLabel: true,
    cell: (r, { meter: m, onUse }) => (
      <button type="button" class="small" onClick={() => onUse(m, r)} aria-label={`Use record ${r.index} of address ${m.address}`}>
        Use
      </button>
    ),
  },
];

function ScanResult({ scan, onUse }: { scan: { meters: SurveyedMeter[]; from: number; to: number; tookMs: number }; onUse: (m: SurveyedMeter, r: SurveyedMeter['records'][number]) => void }) {
  if (scan.meters.length === 0) {
    return (
      <p class="banner banner-warn" data-testid="scan-result" data-count="0">
        No meter answered at addresses {scan.from}-{scan.to} ({(scan.tookMs / 1000).toFixed(1)} s). Check the wiring, the baud rate (most meters: 2400) and the range.
      </p>
    );
  }
  return (
    <div data-testid="scan-result" data-count={scan.meters.length}>
      <p class="banner banner-ok">
        {scan.meters.length} meter(s) at addresses {scan.from}-{scan.to} ({(scan.tookMs / 1000).toFixed(1)} s). Press “Use” on a record to read it as the channel.
      </p>
      {scan.meters.map((m) => (
        <details class="meter" key={m.address} data-address={m.address} open={scan.meters.length === 1}>
          <summary>
            Address <strong>{m.address}</strong>
            {m.id ? (
              <>
                {' '}
                · meter <span class="mono">{m.id}</span> · {m.manufacturer} · {m.medium !== null ? (MEDIA[m.medium] ?? `medium ${m.medium.toString(16).padStart(2, '0')}h`) : ''} · {m.records.length} records
              </>
            ) : null}
            {m.error ? <span class="bad-text"> · readout failed: {m.error}</span> : null}
          </summary>
          {m.records.length ? (
            <DataTable compact columns={RECORD_COLUMNS} rows={m.records} rowKey={(r) => r.index} rowProps={(r) => ({ 'data-record': r.index })} ctx={{ meter: m, onUse }} />
          ) : null}
        </details>
      ))}
    </div>
  );
}
