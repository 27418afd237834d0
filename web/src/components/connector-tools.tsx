import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../lib/api';
import { useApi } from '../lib/use-api';
import { DataTable, type Column } from './data-table';
import type { BrowseEntry, InclusionState, NetworkNode as ZwaveNode } from '../../../src/contract/pipeline';

/**
 * Issue 14 §4: the Z-Wave connector's node list with include/exclude (and the S2 PIN prompt),
 * and the OPC UA connector's browse tree, on the Devices page.
 */

const ZWAVE_COLUMNS: Array<Column<ZwaveNode>> = [
  { label: 'Node', cellClass: 'mono', cell: (n) => n.id },
  {
    label: 'Status',
    cell: (n) => <span class={`cstate cstate-${n.status === 'alive' || n.status === 'awake' || n.status === 'controller' ? 'connected' : n.status === 'dead' ? 'error' : 'connecting'}`}>{n.status}</span>,
  },
  { label: 'Device', cellClass: 'mono', cell: (n) => n.device ?? '' },
  { label: 'Security', cellClass: 'mono', cell: (n) => n.security ?? '' },
  { label: 'Product', cell: (n) => [n.manufacturer, n.product].filter(Boolean).join(' · ') },
  { label: 'Command classes', cellClass: 'muted', cell: (n) => n.commandClasses.join(', ') },
];

export function ZwaveNodes({ connector }: { connector: string }) {
  const [inclusion, setInclusion] = useState<InclusionState | null>(null);
  const [pin, setPin] = useState('');
  const [callError, setError] = useState<string | null>(null);
  const base = `/api/connectors/${encodeURIComponent(connector)}`;
  // The node list follows interviews and inclusions: read again every 5 s, every second while an
  // inclusion/exclusion runs, a device waits for its PIN (the answer carries that state), or for
  // 30 s after a start or a PIN (the key exchange and the interview follow it).
  const [watchUntil, setWatchUntil] = useState(0);
  const busy = (!!inclusion && (inclusion.state !== 'idle' || inclusion.pendingPin)) || Date.now() < watchUntil;
  const { data, error: loadError } = useApi(`${base}/nodes`, { everyMs: busy ? 1000 : 5000, map: (b) => b as { nodes: ZwaveNode[]; inclusion?: InclusionState } });
  const nodes = data?.nodes ?? null;
  useEffect(() => {
    if (data?.inclusion) setInclusion(data.inclusion);
  }, [data]);
  const error = callError ?? (loadError ? describeError(loadError) : null);
  const call = async (what: 'include' | 'exclude', body: Record<string, unknown>) => {
    if (body.stop !== true) setWatchUntil(Date.now() + 30_000);
    try {
      setInclusion(await api<InclusionState>(`${base}/${what}`, { body }));
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section class="card" aria-label={`Z-Wave nodes of ${connector}`} data-testid={`zwave-${connector}`}>
      <h2>
        Z-Wave nodes <span class="muted">{connector}</span>
      </h2>
      <div class="toolbar">
        <button type="button" class="small" onClick={() => void call('include', {})}>
          Include
        </button>
        <button type="button" class="small" onClick={() => void call('exclude', {})}>
          Exclude
        </button>
        {inclusion && inclusion.state !== 'idle' ? (
          <button type="button" class="small" onClick={() => void call(inclusion.state === 'excluding' ? 'exclude' : 'include', { stop: true })}>
            Stop {inclusion.state}
          </button>
        ) : null}
        {inclusion ? (
          <span class="muted" role="status">
            {inclusion.state}
            {inclusion.lastResult ? ` · ${inclusion.lastResult}` : ''}
          </span>
        ) : null}
      </div>
      {inclusion?.pendingPin ? (
        <form
          class="param"
          onSubmit={(e) => {
            e.preventDefault();
            void call('include', { pin }).then(() => setPin(''));
          }}
        >
          {/* The DSK as the driver shows it lacks its first block: the PIN printed on the device. */}
          <label for={`pin-${connector}`}>S2 PIN{inclusion.dsk ? ` (DSK ·····${inclusion.dsk})` : ''}</label>
          <input id={`pin-${connector}`} value={pin} inputMode="numeric" maxLength={5} onInput={(e) => setPin(e.currentTarget.value)} placeholder="12345" />
          <button type="submit" class="small" disabled={!/^\d{5}$/.test(pin)}>
            Send PIN
          </button>
          <button type="button" class="small" onClick={() => void call('include', { stop: true })}>
            Cancel
          </button>
        </form>
      ) : null}
      {error ? (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      {nodes ? (
        <DataTable compact columns={ZWAVE_COLUMNS} rows={nodes} rowKey={(n) => n.id} rowProps={(n) => ({ 'data-node': n.id })} />
      ) : null}
    </section>
  );
}


export function OpcuaBrowser({ connector }: { connector: string }) {
  return (
    <section class="card" aria-label={`OPC UA address space of ${connector}`} data-testid={`opcua-${connector}`}>
      <h2>
        OPC UA address space <span class="muted">{connector}</span>
      </h2>
      <p class="muted small-print">Expand the folders to find the node ids to configure as channels (nodeId).</p>
      <ul class="tree" role="tree">
        <BrowseNode connector={connector} entry={{ nodeId: 'i=85', browseName: 'Objects', displayName: 'Objects', nodeClass: 'Object', dataType: null }} open />
      </ul>
    </section>
  );
}

function BrowseNode({ connector, entry, open: initiallyOpen = false }: { connector: string; entry: BrowseEntry; open?: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  // Read once, when first opened; closing keeps what was read.
  const [asked, setAsked] = useState(initiallyOpen);
  const { data: children, error: loadError } = useApi(asked ? `/api/connectors/${encodeURIComponent(connector)}/browse?nodeId=${encodeURIComponent(entry.nodeId)}` : null, {
    map: (b) => (b as { children: BrowseEntry[] }).children,
  });
  const error = loadError ? describeError(loadError) : null;
  const leaf = entry.nodeClass === 'Variable' || entry.nodeClass === 'Method';
  return (
    <li role="treeitem" aria-expanded={leaf ? undefined : open} data-node-id={entry.nodeId}>
      {leaf ? (
        <span class="tree-leaf">·</span>
      ) : (
        <button type="button" class="linklike" onClick={() => (setOpen(!open), setAsked(true))} aria-label={`${open ? 'Collapse' : 'Expand'} ${entry.displayName}`}>
          {open ? '▾' : '▸'}
        </button>
      )}{' '}
      {entry.displayName} <code class="muted">{entry.nodeId}</code> <span class="muted">{entry.nodeClass}{entry.dataType ? ` · ${entry.dataType}` : ''}</span>
      {error ? <span class="notice-error"> {error}</span> : null}
      {open && children ? (
        <ul role="group">
          {children.map((c) => (
            <BrowseNode key={c.nodeId} connector={connector} entry={c} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
