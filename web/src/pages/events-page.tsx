import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ErrorBox, KeyValues, NotEnabled } from '../components/common';
import { GridCells, type Column } from '../components/data-table';
import { VirtualList } from '../components/virtual-list';
import { ApiError, describeError } from '../lib/api';
import { clock, socket } from '../lib/app-state';
import {
  clearEvents,
  currentRate,
  EVENT_BUFFER_SIZE,
  events,
  previewOf,
  setFilter,
  setIncludeSnapshots,
  setPaused,
  setSource,
  type EventEntry,
} from '../lib/events';
import { base64ToBytes, displayValue, flatten, formatTime, hexDump, humanize } from '../lib/format';
import { mqttState } from '../lib/live';
import { useStore } from '../lib/store';
import { useApi } from '../lib/use-api';

const ROW_HEIGHT = 28; // px
const STATS_POLL_MS = 2000;

const EVENT_COLUMNS: Array<Column<EventEntry>> = [
  { label: 'Time', cls: 'c-time', cellClass: 'mono', cell: (e) => formatTime(e.at) },
  { label: 'Source', cls: 'c-src', cell: (e) => <span class={`src src-${e.source}`}>{e.source === 'mqtt' ? 'MQTT' : 'gateway'}</span> },
  { label: 'Topic', cls: 'c-topic', cellClass: 'mono', cellProps: (e) => ({ title: e.topic }), cell: (e) => e.topic },
  {
    label: 'Payload',
    cls: 'c-payload',
    cellClass: 'mono',
    cell: (e) => (
      <>
        {e.binary ? <span class="badge">bin</span> : null} {previewOf(e)}
      </>
    ),
  },
];

export function EventsPage() {
  const v = useStore(events);
  const now = useStore(clock);
  const rate = currentRate(now);
  const [active, setActive] = useState(-1);
  const [selected, setSelected] = useState<EventEntry | null>(null);
  const [filterDraft, setFilterDraft] = useState(v.filterText);
  const lastEvicted = useRef(v.shown.evicted);

  // Apply the filter as the user types, but not on every keystroke of a burst.
  useEffect(() => {
    const t = setTimeout(() => filterDraft !== events.get().filterText && setFilter(filterDraft), 150);
    return () => clearTimeout(t);
  }, [filterDraft]);

  // Keep the active row on the same event while old ones leave the buffer.
  useEffect(() => {
    const removed = v.shown.evicted - lastEvicted.current;
    lastEvicted.current = v.shown.evicted;
    if (removed > 0 && active >= 0) setActive(Math.max(-1, active - removed));
  }, [v.shown.evicted]);

  const shown = v.shown;
  return (
    <section class="page page-events" aria-labelledby="events-title">
      <div class="page-head">
        <h1 id="events-title">Events</h1>
        <p class="summary" aria-live="off">
          <span data-testid="event-rate">{rate.toLocaleString()}</span> messages/s · {shown.length.toLocaleString()} shown · {v.total.toLocaleString()} received · keeps the last{' '}
          {EVENT_BUFFER_SIZE.toLocaleString()}
        </p>
      </div>
      <MqttPanel />
      <div class="toolbar" role="toolbar" aria-label="Event stream controls">
        <label class="field grow">
          <span>Topic filter</span>
          <input
            type="search"
            value={filterDraft}
            placeholder="e.g. sensors/+/temperature  cluster/#  (space-separated; plain words match anywhere)"
            aria-label="Topic filter, MQTT wildcards + and # allowed"
            aria-invalid={v.filterError ? true : undefined}
            aria-describedby="filter-help"
            data-testid="topic-filter"
            onInput={(e) => setFilterDraft(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>Source</span>
          <select value={v.source} onChange={(e) => setSource(e.currentTarget.value as 'all')} aria-label="Event source">
            <option value="all">All</option>
            <option value="gateway">Cluster events</option>
            <option value="mqtt">MQTT messages</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={v.includeSnapshots} onChange={(e) => setIncludeSnapshots(e.currentTarget.checked)} /> cluster/update snapshots
        </label>
        <button type="button" aria-pressed={v.paused} onClick={() => setPaused(!v.paused)} data-testid="pause">
          {v.paused ? `Resume${v.pendingWhilePaused ? ` (${v.pendingWhilePaused.toLocaleString()} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" onClick={() => (clearEvents(), setSelected(null), setActive(-1))}>
          Clear
        </button>
      </div>
      <p id="filter-help" class={v.filterError ? 'notice notice-error' : 'muted small-print'} role={v.filterError ? 'alert' : undefined}>
        {v.filterError ?? '“+” matches one topic level, “#” every level below; several filters separated by spaces match any of them.'}
      </p>
      <div class="events-layout" data-filter={v.filterText} data-testid="events-layout">
        <VirtualList
          label="Event stream"
          idPrefix="event-row"
          className="event-list"
          testId="event-list"
          count={shown.length}
          rowHeight={ROW_HEIGHT}
          version={events.version}
          follow={!v.paused}
          removedTotal={shown.evicted}
          activeIndex={active}
          onActiveChange={(i) => {
            setActive(i);
            setSelected(shown.at(i) ?? null);
          }}
          onActivate={(i) => setSelected(shown.at(i) ?? null)}
          columns={EVENT_COLUMNS}
          empty={
            <p class="muted">
              {v.total === 0
                ? 'Waiting for events. Cluster events, node changes, firmware progress and MQTT messages (when the bridge is on) appear here live.'
                : 'No event matches the filter.'}
            </p>
          }
          renderRow={(i) => {
            const e = shown.at(i)!;
            return (
              <div class="event-row" data-topic={e.topic} data-source={e.source}>
                <GridCells columns={EVENT_COLUMNS} row={e} ctx={undefined} />
              </div>
            );
          }}
        />
        <EventDetail entry={selected} />
      </div>
    </section>
  );
}

function EventDetail({ entry }: { entry: EventEntry | null }) {
  if (!entry) {
    return (
      <aside class="card event-detail" aria-label="Event details">
        <p class="muted">Select an event (click, or ↑/↓ in the list) to see it in full.</p>
      </aside>
    );
  }
  const m = entry.message;
  let payloadView: preact.ComponentChildren = null;
  if (entry.source === 'mqtt') {
    const data = m.data;
    if (entry.binary && typeof data === 'string') {
      const bytes = base64ToBytes(data);
      payloadView = (
        <>
          <h3>Payload ({bytes?.length ?? 0} bytes, binary — shown as hex)</h3>
          <pre class="code" data-testid="event-hex">
            {bytes ? hexDump(bytes) : data}
          </pre>
        </>
      );
    } else if (typeof data === 'string') {
      let pretty: string | null = null;
      try {
        const parsed: unknown = JSON.parse(data);
        if (parsed !== null && typeof parsed === 'object') pretty = JSON.stringify(parsed, null, 2);
      } catch {
        // plain text
      }
      payloadView = (
        <>
          <h3>Payload {pretty ? '(JSON)' : `(${data.length} characters)`}</h3>
          <pre class="code" data-testid="event-payload">
            {pretty ?? data}
          </pre>
        </>
      );
    }
  }
  return (
    <aside class="card event-detail" aria-label="Event details" data-testid="event-detail">
      <h2 class="mono">{entry.topic}</h2>
      <p class="muted">
        {entry.source === 'mqtt' ? 'MQTT message' : 'gateway event'} · received {formatTime(entry.at)} · sent {m.timestamp}
      </p>
      {payloadView}
      <h3>Message</h3>
      <pre class="code">{JSON.stringify(m, null, 2)}</pre>
    </aside>
  );
}

function MqttPanel() {
  const mq = useStore(mqttState);
  useStore(clock);
  const conn = useStore(socket.state);
  const { data: stats, error } = useApi<unknown>('/api/mqtt/stats', { deps: [conn.opens], everyMs: STATS_POLL_MS, stopWhenAbsent: true });
  const state = error instanceof ApiError && error.notEnabled ? 'disabled' : error ? 'error' : stats !== null ? 'ok' : 'loading';

  const pairs = useMemo(() => (stats ? flatten(stats).map(([k, v]) => [humanize(k), displayValue(v)] as [string, string]) : []), [stats]);

  if (state === 'disabled' && mq.state === 'unknown') {
    return (
      <NotEnabled feature="The MQTT bridge">
        <p>
          Start the gateway with <code>-mqtt tcp://broker:1883</code> (or <code>-mqtt embedded</code> for a built-in broker) to see MQTT traffic here. Cluster events
          still stream below.
        </p>
      </NotEnabled>
    );
  }
  const connState = mq.state !== 'unknown' ? mq.state : inferState(stats);
  // A few headline figures for the one-line summary, found by name in whatever shape the stats have.
  const headline = (re: RegExp, label: string) => {
    const hit = stats ? flatten(stats).find(([k, v]) => re.test(k) && typeof v === 'number') : undefined;
    return hit ? `${displayValue(hit[1])} ${label}` : null;
  };
  const figures = [headline(/^messagesIn$/i, 'in'), headline(/^messagesOut$/i, 'out'), headline(/^drops?\.total$|^dropped$/i, 'dropped'), headline(/^reconnects$/i, 'reconnects')].filter(Boolean);
  return (
    <details class="card mqtt-panel" data-testid="mqtt-panel">
      <summary>
        MQTT <span class={`conn conn-mqtt-${connState}`} data-testid="mqtt-state">
          <span class="dot" aria-hidden="true" />
          {connState}
        </span>
        {mq.broker ? <span class="muted mono"> {mq.broker}</span> : null}
        {mq.error ? <span class="status-text-dead"> — {mq.error}</span> : null}
        {figures.length ? <span class="muted"> · {figures.join(' · ')}</span> : null}
        <span class="muted small-print"> (statistics)</span>
      </summary>
      {state === 'error' ? <ErrorBox title="MQTT statistics could not be read">{describeError(error)}</ErrorBox> : null}
      {pairs.length ? <KeyValues pairs={pairs} testId="mqtt-stats" /> : state === 'loading' ? <p class="muted">Loading statistics…</p> : null}
    </details>
  );
}

/** Before any mqtt/status message arrives, read the state from the stats if they carry one. */
function inferState(stats: unknown): string {
  const s = stats as Record<string, unknown> | null;
  const v = s?.state ?? s?.connectionState ?? (typeof s?.connected === 'boolean' ? (s.connected ? 'connected' : 'disconnected') : undefined);
  return typeof v === 'string' ? v : 'unknown';
}
