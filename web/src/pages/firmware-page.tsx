import { Fragment } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ConfirmDialog, Empty, ErrorBox, Labels, Loading, NotEnabled, ProgressBar } from '../components/common';
import { FileDrop } from '../components/file-drop';
import { api, ApiError, describeError, uploadForm } from '../lib/api';
import { withToken } from '../lib/auth';
import { socket } from '../lib/app-state';
import { cluster } from '../lib/cluster';
import { compareNames, compareVersions, formatBytes, parseLabels } from '../lib/format';
import { refreshRollout, rollouts } from '../lib/live';
import { nodeHref } from '../lib/router';
import { useStore } from '../lib/store';
import type { FirmwareRecord, RolloutStatus } from '../../../src/contract/firmware';
import { isEsp8266Image, isGzip, readMarkerVersion } from '../../../src/protocol/firmware-marker';
import type { Rollout } from '../lib/live';

function asList<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const b = body as Record<string, unknown> | null;
  const inner = b?.[key] ?? b?.items;
  return Array.isArray(inner) ? (inner as T[]) : [];
}

const ACTIVE: RolloutStatus[] = ['pending', 'scheduled', 'running', 'paused'];
const SETTLED_NODE = ['succeeded', 'failed', 'skipped', 'cancelled'];
const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "sat,sun 02:00-05:00 Europe/Berlin" → a rollout window (issue 17 §5), or a reason. */
function parseWindowText(text: string): { window?: { days: string[]; from: string; to: string; timezone: string }; error?: string } {
  if (!text.trim()) return {};
  const m = /^\s*([a-z,]+)\s+(\d\d:\d\d)-(\d\d:\d\d)(?:\s+(\S+))?\s*$/i.exec(text);
  const days = m ? m[1]!.toLowerCase().split(',').filter(Boolean) : [];
  if (!m || days.length === 0 || !days.every((d) => WEEK.includes(d))) return { error: 'write days from-to [timezone], e.g. "sat,sun 02:00-05:00 Europe/Berlin"' };
  return { window: { days, from: m[2]!, to: m[3]!, timezone: m[4] ?? 'UTC' } };
}

/** "in 1 h 20 min" until an instant (the scheduled state's countdown). */
function countdown(iso: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `in ${d} d ${h} h`;
  if (h > 0) return `in ${h} h ${m} min`;
  return m > 0 ? `in ${m} min ${s % 60} s` : `in ${s} s`;
}

export function FirmwarePage() {
  const [firmware, setFirmware] = useState<FirmwareRecord[] | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const conn = useStore(socket.state);

  const load = async () => {
    try {
      setFirmware(asList<FirmwareRecord>(await api('/api/firmware'), 'firmware'));
      setError(null);
    } catch (err) {
      setError(err as Error);
    }
  };
  useEffect(() => {
    void load();
  }, [conn.opens]);

  if (error instanceof ApiError && error.notEnabled) {
    return (
      <section class="page">
        <h1>Firmware &amp; rollouts</h1>
        <NotEnabled feature="The firmware store">
          <p>This gateway was built without the firmware store and rollouts (issue 4). Single-node updates still work from each node's page.</p>
        </NotEnabled>
      </section>
    );
  }

  return (
    <section class="page page-firmware" aria-labelledby="fw-page-title">
      <div class="page-head">
        <h1 id="fw-page-title">Firmware &amp; rollouts</h1>
        <p class="summary">Keep images in the store, then roll them out to the fleet in batches — the primary node last, stopping when failures pass your limit.</p>
      </div>
      {error ? (
        <ErrorBox title="The firmware store could not be read" onRetry={() => void load()}>
          {describeError(error)}
        </ErrorBox>
      ) : null}
      <div class="grid-2">
        <UploadFirmware onUploaded={() => void load()} />
        <FirmwareList firmware={firmware} onChanged={() => void load()} />
      </div>
      <RolloutWizard firmware={firmware ?? []} />
      <RolloutsPanel />
    </section>
  );
}

/** The checkbox that overrides the store's refusals (its `force` field). */
const FORCE_LABEL = 'Force: store it even if it is not an ESP8266 application image or its SPORE marker disagrees';

/**
 * A refusal the upload's force option overrides (`override: "force"` in the answer): the
 * gateway's reason, with what the reader can do here (the checkbox) instead of the API field.
 */
function describeUploadError(err: unknown): string {
  if (err instanceof ApiError) {
    const b = err.body as { override?: unknown; reason?: unknown } | undefined;
    if (b?.override === 'force' && typeof b.reason === 'string') return `${b.reason}. To store it anyway, tick “Force” and upload again.`;
  }
  return describeError(err);
}

/** Images larger than this are not read in the browser to find their version marker, bytes. */
const MAX_INSPECT_BYTES = 16 * 1024 * 1024;

interface ImageFacts {
  /** The version its SPORE-VERSION marker declares, or null. */
  markerVersion: string | null;
  /** First byte 0xE9 (inside the gzip stream for a .bin.gz). */
  espImage: boolean;
  firstByte: number | undefined;
}

/** Reads an image as the CLI does (`spore firmware upload`): its first byte and its SPORE-VERSION marker, inflating a .bin.gz. */
async function inspectImage(file: File): Promise<ImageFacts | null> {
  if (file.size > MAX_INSPECT_BYTES) return null;
  try {
    let bytes = new Uint8Array(await file.arrayBuffer());
    if (isGzip(bytes) && typeof DecompressionStream === 'function') {
      const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      bytes = new Uint8Array(await new Response(inflated).arrayBuffer());
    }
    return { markerVersion: readMarkerVersion(bytes), espImage: isEsp8266Image(bytes[0]), firstByte: bytes[0] };
  } catch {
    return null;
  }
}

/** "spore-node-1.2.3.bin" → { name: "spore-node", version: "1.2.3" } */
function guessFromFileName(fileName: string): { name: string; version: string } {
  const base = fileName.replace(/\.(bin|img|elf)$/i, '');
  const m = /^(.*?)[-_ ]v?(\d+(?:\.\d+)+(?:[-+.][0-9A-Za-z.]+)?)$/.exec(base);
  return m ? { name: m[1]!, version: m[2]! } : { name: base, version: '' };
}

function UploadFirmware({ onUploaded }: { onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [labels, setLabels] = useState('');
  const [force, setForce] = useState(false);
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [result, setResult] = useState<{ kind: 'ok' | 'error' | 'warn'; text: string } | null>(null);
  const [facts, setFacts] = useState<ImageFacts | null>(null);
  const [inspecting, setInspecting] = useState(false);

  const choose = (f: File | null) => {
    setFile(f);
    setResult(null);
    setFacts(null);
    if (!f) return;
    const g = guessFromFileName(f.name);
    if (!name) setName(g.name);
    setInspecting(true);
    void inspectImage(f).then((found) => {
      setInspecting(false);
      setFacts(found);
      // The marker is what the node will report after booting it: it wins over the file name (as in the CLI).
      if (found?.markerVersion) setVersion(found.markerVersion);
      else if (g.version) setVersion((v) => v || g.version);
    });
  };

  const parsedLabels = parseLabels(labels);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append('name', name.trim());
    form.append('version', version.trim());
    if (Object.keys(parsedLabels.labels).length) form.append('labels', JSON.stringify(parsedLabels.labels));
    if (force) form.append('force', 'true');
    form.append('file', file, file.name);
    setProgress({ loaded: 0, total: file.size });
    setResult(null);
    try {
      const rec = await uploadForm<FirmwareRecord>('/api/firmware', form, setProgress);
      const stored = `Stored ${rec.name} ${rec.version} (${formatBytes(rec.size)}, sha256 ${rec.sha256.slice(0, 12)}…).`;
      setResult(
        rec.espImage === false
          ? { kind: 'warn', text: `${stored} It is not an ESP8266 application image: nodes will most likely reject it, and rollouts of it warn.` }
          : { kind: 'ok', text: stored },
      );
      setFile(null);
      setFacts(null);
      setName('');
      setVersion('');
      setForce(false);
      onUploaded();
    } catch (err) {
      setResult({ kind: 'error', text: describeUploadError(err) });
    } finally {
      setProgress(null);
    }
  };

  // Why "Upload" is disabled, said next to it (issue 12 §18).
  const blockers: string[] = [];
  if (!file) blockers.push('choose an image file');
  if (!name.trim()) blockers.push('give a name');
  if (!version.trim()) blockers.push(file && !inspecting && !facts?.markerVersion ? 'give a version (the image carries no SPORE-VERSION marker)' : 'give a version');
  if (parsedLabels.error) blockers.push('fix the labels');
  const notEsp = facts !== null && !facts.espImage;
  const markerDiffers = facts?.markerVersion && version.trim() && version.trim() !== facts.markerVersion;
  const hex = (b: number | undefined) => (b === undefined ? 'none' : `0x${b.toString(16).padStart(2, '0').toUpperCase()}`);

  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="upload-title" data-testid="firmware-upload">
      <h2 id="upload-title">Upload firmware</h2>
      <FileDrop label="Firmware image (.bin)" accept=".bin,application/octet-stream" file={file} onFile={choose} />
      <div class="form-grid">
        <label class="field">
          <span>Name</span>
          <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Version</span>
          <input name="version" aria-label="Version" required value={version} onInput={(e) => setVersion(e.currentTarget.value)} placeholder="1.2.0" />
          {facts?.markerVersion ? (
            <small class="muted" data-testid="version-source">
              from the image's SPORE-VERSION marker
            </small>
          ) : null}
        </label>
        <label class="field">
          <span>Labels (optional)</span>
          <input name="labels" value={labels} onInput={(e) => setLabels(e.currentTarget.value)} placeholder="board=esp01, channel=beta" aria-invalid={parsedLabels.error ? true : undefined} />
        </label>
      </div>
      {notEsp ? (
        <p class="notice notice-warn" role="alert" data-testid="upload-not-esp">
          This is not an ESP8266 application image (first byte {hex(facts!.firstByte)}, expected 0xE9): a node would reject it. The store refuses it unless “Force” is ticked.
        </p>
      ) : null}
      {markerDiffers ? (
        <p class="notice notice-warn" data-testid="upload-marker-differs">
          The image's SPORE-VERSION marker says {facts!.markerVersion}: nodes will report that version after the update, not {version.trim()}.
        </p>
      ) : null}
      <label class="check force-check">
        <input type="checkbox" name="force" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> {FORCE_LABEL}
      </label>
      {parsedLabels.error ? <p class="notice notice-error">{parsedLabels.error}: write labels as key=value, separated by commas.</p> : null}
      <div class="toolbar">
        <button type="submit" class="primary" disabled={blockers.length > 0 || progress !== null || inspecting}>
          {progress ? 'Uploading…' : 'Upload to the store'}
        </button>
        {blockers.length > 0 && !progress ? (
          <span class="muted" data-testid="upload-blockers">
            To upload: {blockers.join('; ')}.
          </span>
        ) : inspecting ? (
          <span class="muted">Reading the image…</span>
        ) : null}
      </div>
      {progress ? <ProgressBar value={progress.loaded} max={progress.total || 1} label="Upload progress" /> : null}
      {result ? (
        <p class={`notice notice-${result.kind}`} role={result.kind === 'error' ? 'alert' : 'status'} data-testid="upload-result">
          {result.text}
        </p>
      ) : null}
    </form>
  );
}

function FirmwareList({ firmware, onChanged }: { firmware: FirmwareRecord[] | null; onChanged: () => void }) {
  const [toDelete, setToDelete] = useState<FirmwareRecord | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const remove = async () => {
    const fw = toDelete!;
    setToDelete(null);
    try {
      await api(`/api/firmware/${encodeURIComponent(fw.id)}`, { method: 'DELETE' });
      setMessage(null);
      onChanged();
    } catch (err) {
      setMessage(err instanceof ApiError && err.status === 409 ? `${fw.name} ${fw.version} is used by a rollout that has not finished: ${err.message}` : describeError(err));
    }
  };
  return (
    <section class="card" aria-labelledby="store-title">
      <h2 id="store-title">Firmware store</h2>
      {message ? (
        <p class="notice notice-error" role="alert">
          {message}
        </p>
      ) : null}
      {firmware === null ? (
        <Loading what="firmware" />
      ) : firmware.length === 0 ? (
        <Empty title="No firmware stored yet">
          <p>Drop an image on the upload form to store it; then start a rollout below.</p>
        </Empty>
      ) : (
        <table class="table" data-testid="firmware-list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
              <th scope="col">Labels</th>
              <th scope="col">Stored</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {firmware.map((f) => (
              <tr key={f.id} data-firmware-id={f.id}>
                <td>
                  {f.name}
                  {f.espImage === false ? (
                    <span class="badge badge-warn" title="Stored with force: not an ESP8266 application image; nodes will most likely reject it">
                      not an ESP8266 image
                    </span>
                  ) : null}
                </td>
                <td class="mono">{f.version}</td>
                <td>{formatBytes(f.size)}</td>
                <td class="mono" title={f.sha256}>
                  {f.sha256.slice(0, 12)}…
                </td>
                <td>
                  <Labels labels={f.labels} />
                </td>
                <td>{new Date(f.createdAt).toLocaleString()}</td>
                <td class="actions">
                  <a class="button small" href={withToken(`/api/firmware/${encodeURIComponent(f.id)}/download`)} download>
                    Download
                  </a>
                  <button type="button" class="small danger" onClick={() => setToDelete(f)} aria-label={`Delete ${f.name} ${f.version}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog open={toDelete !== null} title={`Delete ${toDelete?.name ?? ''} ${toDelete?.version ?? ''}?`} confirmLabel="Delete" danger onCancel={() => setToDelete(null)} onConfirm={() => void remove()}>
        <p>The image is removed from the store. Nodes already running it are not affected.</p>
      </ConfirmDialog>
    </section>
  );
}

function RolloutWizard({ firmware }: { firmware: FirmwareRecord[] }) {
  const st = useStore(cluster);
  const [firmwareId, setFirmwareId] = useState('');
  const [mode, setMode] = useState<'labels' | 'nodes'>('labels');
  const [labelText, setLabelText] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [nodeFilter, setNodeFilter] = useState('');
  const [pickerSort, setPickerSort] = useState<{ key: 'hostname' | 'version'; dir: 1 | -1 }>({ key: 'hostname', dir: 1 });
  const [batchSize, setBatchSize] = useState(2);
  const [maxFailures, setMaxFailures] = useState(0);
  const [bootTimeoutSec, setBootTimeoutSec] = useState(60);
  const [startAt, setStartAt] = useState('');
  const [windowText, setWindowText] = useState('');
  const [dynamic, setDynamic] = useState(false);
  const [autoRollback, setAutoRollback] = useState(false);
  const [plan, setPlan] = useState<Rollout | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  /** The rollout this wizard started: its message follows the rollout's real state. */
  const [startedId, setStartedId] = useState<string | null>(null);
  const live = useStore(rollouts);
  const started = startedId ? live.get(startedId) : undefined;

  useEffect(() => {
    if (!firmwareId && firmware.length) setFirmwareId(firmware[0]!.id);
    if (firmwareId && !firmware.some((f) => f.id === firmwareId)) setFirmwareId(firmware[0]?.id ?? '');
  }, [firmware]);

  const nodes = useMemo(() => [...st.nodes.values()].sort((a, b) => compareNames(a.hostname, b.hostname)), [st.structure]);
  const parsed = parseLabels(labelText);
  const matching = useMemo(() => {
    if (mode === 'nodes') return nodes.filter((n) => chosen.has(n.ip));
    return nodes.filter((n) => Object.entries(parsed.labels).every(([k, v]) => n.labels[k] === v));
  }, [mode, nodes, chosen, labelText]);
  // The target's version (issue 15 §3): nodes already running it are marked, in the picker and the match count.
  const targetVersion = firmware.find((f) => f.id === firmwareId)?.version ?? null;
  const onTarget = (n: { version: string | null }) => targetVersion !== null && n.version === targetVersion;
  const matchingOnTarget = matching.filter(onTarget);
  const visibleNodes = useMemo(() => {
    const needle = nodeFilter.trim().toLowerCase();
    const shown = nodes.filter((n) => !needle || `${n.hostname} ${n.ip} ${n.version ?? ''}`.toLowerCase().includes(needle));
    const cmp = pickerSort.key === 'version' ? (a: (typeof nodes)[0], b: (typeof nodes)[0]) => compareVersions(a.version, b.version) || compareNames(a.hostname, b.hostname) : (a: (typeof nodes)[0], b: (typeof nodes)[0]) => compareNames(a.hostname, b.hostname);
    return shown.sort((a, b) => pickerSort.dir * cmp(a, b));
  }, [nodes, nodeFilter, pickerSort, cluster.version]);
  const sortBy = (key: 'hostname' | 'version') => setPickerSort((s) => ({ key, dir: s.key === key ? ((-s.dir) as 1 | -1) : 1 }));
  const sortMark = (key: 'hostname' | 'version') => (pickerSort.key === key ? (pickerSort.dir === 1 ? ' ▲' : ' ▼') : '');
  const ariaSort = (key: 'hostname' | 'version') => (pickerSort.key === key ? (pickerSort.dir === 1 ? 'ascending' : 'descending') : undefined);

  const request = (dryRun: boolean) => ({
    firmwareId,
    target: mode === 'labels' ? (Object.keys(parsed.labels).length ? { labels: parsed.labels } : {}) : { ips: [...chosen] },
    batchSize,
    maxFailures,
    bootTimeoutSec,
    dryRun,
    ...(startAt ? { startAt: new Date(startAt).toISOString() } : {}),
    ...(win.window ? { window: win.window } : {}),
    ...(dynamic ? { dynamic: true } : {}),
    ...(autoRollback ? { autoRollback: true } : {}),
  });
  const win = parseWindowText(windowText);

  const submit = async (dryRun: boolean) => {
    setBusy(true);
    setMessage(null);
    try {
      const r = await api<Rollout>('/api/rollouts', { body: request(dryRun) });
      if (dryRun) setPlan(r);
      else {
        setPlan(null);
        // Its WebSocket progress may have arrived before this answer (a rollout can fail in
        // milliseconds): never replace newer state with the answer's snapshot, and read it again.
        const map = rollouts.get();
        const known = map.get(r.id);
        map.set(r.id, known ? { ...r, ...known, firmware: r.firmware } : r);
        rollouts.changed();
        void refreshRollout(r.id);
        setStartedId(r.id);
        setMessage(r.warnings?.length ? { kind: 'error', text: `Started despite: ${r.warnings.join(' ')}` } : null);
      }
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  const selected = firmware.find((f) => f.id === firmwareId);
  const invalid =
    !firmwareId || (mode === 'nodes' && chosen.size === 0) || parsed.error !== null || batchSize < 1 || maxFailures < 0 || bootTimeoutSec < 1 || win.error !== undefined || (dynamic && mode !== 'labels');

  return (
    <form class="card" aria-labelledby="wizard-title" onSubmit={(e) => (e.preventDefault(), void submit(false))} data-testid="rollout-wizard">
      <h2 id="wizard-title">New rollout</h2>
      {firmware.length === 0 ? <p class="muted">Upload a firmware image first.</p> : null}
      <fieldset>
        <legend>1. Firmware</legend>
        <label class="field">
          <span>Image</span>
          <select value={firmwareId} onChange={(e) => setFirmwareId(e.currentTarget.value)} name="firmware" aria-label="Firmware to roll out">
            {firmware.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name} {f.version} ({formatBytes(f.size)})
              </option>
            ))}
          </select>
        </label>
        {selected && selected.espImage === false ? (
          <p class="notice notice-warn" role="alert" data-testid="wizard-not-esp">
            {selected.name} {selected.version} is not an ESP8266 application image (it was stored with force): nodes will most likely reject it.
          </p>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>2. Nodes</legend>
        <div class="seg" role="radiogroup" aria-label="How to choose nodes">
          <label class="check">
            <input type="radio" name="target-mode" checked={mode === 'labels'} onChange={() => setMode('labels')} /> By labels
          </label>
          <label class="check">
            <input type="radio" name="target-mode" checked={mode === 'nodes'} onChange={() => setMode('nodes')} /> Choose nodes
          </label>
        </div>
        {mode === 'labels' ? (
          <label class="field">
            <span>Label selector (empty = every node)</span>
            <input value={labelText} onInput={(e) => setLabelText(e.currentTarget.value)} placeholder="role=sensor, site=lab" aria-invalid={parsed.error ? true : undefined} name="labels" />
          </label>
        ) : (
          <div class="node-picker">
            <div class="toolbar">
              <input type="search" placeholder="filter" aria-label="Filter nodes to choose" value={nodeFilter} onInput={(e) => setNodeFilter(e.currentTarget.value)} />
              <button type="button" class="small" onClick={() => setChosen(new Set(visibleNodes.map((n) => n.ip)))}>
                Select shown
              </button>
              <button type="button" class="small" onClick={() => setChosen(new Set())}>
                Clear
              </button>
            </div>
            <div class="picker-list" role="group" aria-label="Nodes to update">
              <table class="table compact" data-testid="node-picker">
                <thead>
                  <tr>
                    <th scope="col">
                      <span class="sr-only">Chosen</span>
                    </th>
                    <th scope="col" aria-sort={ariaSort('hostname')}>
                      <button type="button" class="sort" onClick={() => sortBy('hostname')} aria-label="Sort nodes by hostname">
                        Node<span aria-hidden="true">{sortMark('hostname')}</span>
                      </button>
                    </th>
                    <th scope="col" class="c-version" aria-sort={ariaSort('version')}>
                      <button type="button" class="sort" onClick={() => sortBy('version')} aria-label="Sort nodes by version">
                        Version<span aria-hidden="true">{sortMark('version')}</span>
                      </button>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {visibleNodes.slice(0, 1000).map((n) => (
                    <tr key={n.ip} data-ip={n.ip} data-on-target={onTarget(n) ? 'true' : undefined} class={onTarget(n) ? 'on-target' : undefined}>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Update ${n.hostname}`}
                          checked={chosen.has(n.ip)}
                          onChange={(e) => {
                            const next = new Set(chosen);
                            if (e.currentTarget.checked) next.add(n.ip);
                            else next.delete(n.ip);
                            setChosen(next);
                          }}
                        />
                      </td>
                      <td>
                        {n.hostname} <span class="muted mono">{n.ip}</span>
                      </td>
                      <td class="mono c-version" data-testid="picker-version">
                        {n.version ?? '–'}
                        {onTarget(n) ? <span class="badge badge-on-target">already on target</span> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
        <p class="muted" data-testid="wizard-match">
          {matching.length} known node(s) match now.
        </p>
        {matchingOnTarget.length ? (
          <p class="notice" data-testid="wizard-on-target">
            {matchingOnTarget.length} of them already run {targetVersion}: {matchingOnTarget.slice(0, 5).map((n) => n.hostname).join(', ')}
            {matchingOnTarget.length > 5 ? ` and ${matchingOnTarget.length - 5} more` : ''}.{' '}
            {mode === 'nodes' ? (
              <button type="button" class="small" onClick={() => setChosen(new Set([...chosen].filter((ip) => !matchingOnTarget.some((n) => n.ip === ip))))}>
                Leave them out
              </button>
            ) : null}
          </p>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>3. Safety</legend>
        <div class="form-grid">
          <label class="field">
            <span>Batch size</span>
            <input type="number" min={1} value={batchSize} onInput={(e) => setBatchSize(Number(e.currentTarget.value))} name="batchSize" />
          </label>
          <label class="field">
            <span>Max failures</span>
            <input type="number" min={0} value={maxFailures} onInput={(e) => setMaxFailures(Number(e.currentTarget.value))} name="maxFailures" />
          </label>
          <label class="field">
            <span>Boot timeout (s)</span>
            <input type="number" min={1} value={bootTimeoutSec} onInput={(e) => setBootTimeoutSec(Number(e.currentTarget.value))} name="bootTimeoutSec" />
          </label>
        </div>
      </fieldset>
      <fieldset>
        <legend>4. When</legend>
        <div class="form-grid">
          <label class="field">
            <span>Start at (empty = now)</span>
            <input type="datetime-local" value={startAt} onInput={(e) => setStartAt(e.currentTarget.value)} name="startAt" />
          </label>
          <label class="field">
            <span>Maintenance window</span>
            <input value={windowText} onInput={(e) => setWindowText(e.currentTarget.value)} placeholder="sat,sun 02:00-05:00 Europe/Berlin" aria-invalid={win.error ? true : undefined} name="window" />
          </label>
        </div>
        {win.error ? <p class="notice notice-error">{win.error}</p> : null}
        <label class="check">
          <input type="checkbox" checked={dynamic} onChange={(e) => setDynamic(e.currentTarget.checked)} name="dynamic" /> Take nodes that join later (24 h, label selector only)
        </label>
        <label class="check">
          <input type="checkbox" checked={autoRollback} onChange={(e) => setAutoRollback(e.currentTarget.checked)} name="autoRollback" /> Roll back automatically if it fails
        </label>
      </fieldset>
      <div class="toolbar">
        <button type="button" disabled={invalid || busy} onClick={() => void submit(true)}>
          Preview (dry run)
        </button>
        <button type="submit" class="primary" disabled={invalid || busy}>
          Start rollout
        </button>
      </div>
      {started ? <StartedRollout rollout={started} /> : null}
      {message ? (
        <p class={`notice notice-${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="wizard-error">
          {message.text}
        </p>
      ) : null}
      {plan ? <PlanPreview plan={plan} /> : null}
    </form>
  );
}

/** The state of the rollout the wizard started, as it changes (started → running → failed …). */
function StartedRollout({ rollout: r }: { rollout: Rollout }) {
  const c = rolloutCounts(r);
  const settledBad = r.status === 'failed' || r.status === 'cancelled';
  const head =
    r.status === 'scheduled'
      ? `Rollout scheduled for ${c.toUpdate} node(s)`
      : r.status === 'pending' || r.status === 'running'
        ? `Rollout running on ${c.toUpdate} node(s)`
        : `Rollout ${r.status}`;
  return (
    <p class={`notice notice-${settledBad ? 'error' : r.status === 'succeeded' ? 'ok' : 'info'}`} role={settledBad ? 'alert' : 'status'} aria-live="polite" data-testid="wizard-message" data-status={r.status}>
      {head}: {c.text}
      {r.error ? ` — ${r.error}` : ''}
    </p>
  );
}

function PlanPreview({ plan }: { plan: Rollout }) {
  const host = new Map(plan.nodes.map((n) => [n.ip, n.hostname]));
  const c = rolloutCounts(plan);
  return (
    <div class="plan" data-testid="rollout-plan" aria-live="polite">
      <h3>Dry run: {c.toUpdate} node(s) would be updated{c.skipped ? `, ${c.skipped} skipped` : ''}</h3>
      {plan.warnings?.length ? (
        <ul class="notice notice-warn" data-testid="plan-warnings">
          {plan.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      {plan.batches?.length ? (
        <ol>
          {plan.batches.map((b, i) => (
            <li key={i}>
              Batch {i + 1}: {b.map((ip) => `${host.get(ip) ?? ip} (${ip})`).join(', ')}
            </li>
          ))}
        </ol>
      ) : (
        <ul>
          {plan.nodes.map((n) => (
            <li key={n.ip}>
              {n.hostname} ({n.ip}) — {n.state}
            </li>
          ))}
        </ul>
      )}
      <p class="muted">Nothing was changed. Press “Start rollout” to run it.</p>
    </div>
  );
}

function RolloutsPanel() {
  const map = useStore(rollouts);
  const conn = useStore(socket.state);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    void api('/api/rollouts')
      .then((body) => {
        const list = asList<Rollout>(body, 'rollouts');
        const m = rollouts.get();
        for (const r of list) m.set(r.id, { ...m.get(r.id), ...r });
        rollouts.changed();
        setError(null);
        for (const r of list) if (ACTIVE.includes(r.status) && (!r.nodes || r.nodes.length === 0)) void refreshRollout(r.id);
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [conn.opens]);

  /** Retry / rollback of a finished rollout (issue 17 §4, §7): the new rollout joins the running ones. */
  const followUp = async (r: Rollout, action: 'retry' | 'rollback') => {
    setError(null);
    try {
      const next = await api<Rollout>(`/api/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST' });
      rollouts.get().set(next.id, next);
      if (action === 'rollback') rollouts.get().set(r.id, { ...r, rollbackId: next.id });
      rollouts.changed();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const all = [...map.values()].filter((r) => !r.dryRun).sort((a, b) => (b.createdAt ?? b.startedAt ?? '').localeCompare(a.createdAt ?? a.startedAt ?? ''));
  const active = all.filter((r) => ACTIVE.includes(r.status));
  const history = all.filter((r) => !ACTIVE.includes(r.status));

  return (
    <>
      <section class="card" aria-labelledby="active-title">
        <h2 id="active-title">Running rollouts</h2>
        {error ? <ErrorBox title="Rollouts could not be read">{error}</ErrorBox> : null}
        {active.length === 0 ? <p class="muted">No rollout is running.</p> : active.map((r) => <RolloutCard key={r.id} rollout={r} />)}
      </section>
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        {history.length === 0 ? (
          <p class="muted">No finished rollout yet.</p>
        ) : (
          <table class="table" data-testid="rollout-history">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Firmware</th>
                <th scope="col">Nodes</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">
                  <span class="sr-only">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {history.map((r) => (
                <Fragment key={r.id}>
                  <tr data-rollout-id={r.id} data-status={r.status}>
                    <td>
                      <span class={`rstatus rstatus-${r.status}`}>{r.status}</span>
                    </td>
                    <td>
                      {r.firmware.name} {r.firmware.version}
                    </td>
                    <td>{summarise(r)}</td>
                    <td>{r.startedAt ? new Date(r.startedAt).toLocaleString() : '–'}</td>
                    <td>{r.finishedAt ? new Date(r.finishedAt).toLocaleString() : '–'}</td>
                    <td>
                      <button type="button" class="small" aria-expanded={open === r.id} onClick={() => setOpen(open === r.id ? null : r.id)}>
                        {open === r.id ? 'Hide' : 'Details'}
                      </button>{' '}
                      {(r.nodes ?? []).some((n) => n.state === 'failed') ? (
                        <button type="button" class="small" onClick={() => void followUp(r, 'retry')}>
                          Retry failed
                        </button>
                      ) : null}{' '}
                      {(r.nodes ?? []).some((n) => n.state === 'succeeded') && !r.rollbackId ? (
                        <button type="button" class="small danger" onClick={() => void followUp(r, 'rollback')}>
                          Roll back
                        </button>
                      ) : null}
                    </td>
                  </tr>
                  {open === r.id ? (
                    <tr>
                      <td colSpan={6}>
                        <RolloutNodes rollout={r} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

/** The counts every view of a rollout shows, from its nodes: skipped nodes are not among those to update. */
function rolloutCounts(r: Rollout): { toUpdate: number; succeeded: number; failed: number; skipped: number; text: string } {
  const nodes = r.nodes ?? [];
  const by = (s: string) => nodes.filter((n) => n.state === s).length;
  const skipped = by('skipped');
  const toUpdate = nodes.length - skipped;
  const succeeded = by('succeeded');
  const failed = by('failed');
  const cancelled = by('cancelled');
  const parts = [`${succeeded}/${toUpdate} updated`];
  if (failed) parts.push(`${failed} failed`);
  if (cancelled) parts.push(`${cancelled} cancelled`);
  if (skipped) parts.push(`${skipped} skipped`);
  return { toUpdate, succeeded, failed, skipped, text: parts.join(', ') };
}

function summarise(r: Rollout): string {
  return rolloutCounts(r).text;
}

function RolloutCard({ rollout: r }: { rollout: Rollout }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const done = (r.nodes ?? []).filter((n) => SETTLED_NODE.includes(n.state)).length;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (r.status !== 'scheduled') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [r.status]);
  const control = async (action: 'pause' | 'resume' | 'cancel') => {
    setBusy(true);
    setError(null);
    try {
      const res = await api<Rollout>(`/api/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST' });
      if (res && typeof res === 'object' && 'id' in res) {
        rollouts.get().set(r.id, { ...r, ...res });
        rollouts.changed();
      } else void refreshRollout(r.id);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <article class="rollout" data-testid="rollout" data-rollout-id={r.id} data-status={r.status} aria-label={`Rollout of ${r.firmware.name} ${r.firmware.version}`}>
      <header class="rollout-head">
        <h3>
          {r.firmware.name} {r.firmware.version} <span class={`rstatus rstatus-${r.status}`}>{r.status}</span>
        </h3>
        <span class="muted">
          {done} of {r.nodes?.length ?? 0} node(s) finished
        </span>
        <div class="toolbar">
          {r.status === 'paused' ? (
            <button type="button" disabled={busy} onClick={() => void control('resume')}>
              Resume
            </button>
          ) : (
            <button type="button" disabled={busy || (r.status !== 'running' && r.status !== 'scheduled')} onClick={() => void control('pause')}>
              Pause
            </button>
          )}
          <button type="button" class="danger" disabled={busy} onClick={() => setConfirmCancel(true)}>
            Cancel…
          </button>
        </div>
      </header>
      {r.status === 'scheduled' ? (
        <p class="notice" data-testid="rollout-countdown">
          {r.waitingFor === 'window' ? 'Waiting for its maintenance window' : 'Scheduled'}
          {r.nextRunAt ? `: starts ${countdown(r.nextRunAt, now)} (${new Date(r.nextRunAt).toLocaleString()})` : ''}
        </p>
      ) : r.waitingFor === 'joiners' ? (
        <p class="notice" data-testid="rollout-joiners">Open for nodes that join later{r.dynamicUntil ? ` until ${new Date(r.dynamicUntil).toLocaleString()}` : ''}.</p>
      ) : null}
      <ProgressBar value={done} max={r.nodes?.length || 1} label="Rollout progress" state={r.status === 'failed' ? 'failed' : undefined} />
      {error ? (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      ) : null}
      <RolloutNodes rollout={r} />
      <ConfirmDialog open={confirmCancel} title="Cancel this rollout?" confirmLabel="Cancel rollout" danger onCancel={() => setConfirmCancel(false)} onConfirm={() => (setConfirmCancel(false), void control('cancel'))}>
        <p>Nodes being updated now finish their update; no other node is touched.</p>
      </ConfirmDialog>
    </article>
  );
}

function RolloutNodes({ rollout: r }: { rollout: Rollout }) {
  return (
    <table class="table compact" data-testid="rollout-nodes">
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">State</th>
          <th scope="col">Progress</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {(r.nodes ?? []).map((n) => (
          <tr key={n.ip} data-ip={n.ip} data-state={n.state}>
            <td>
              <a href={nodeHref(n.ip)}>{n.hostname}</a> <span class="muted mono">{n.ip}</span>
            </td>
            <td>
              <span class={`nstate nstate-${n.state}`}>{n.state}</span>
            </td>
            <td class="c-progress">
              <ProgressBar value={n.state === 'succeeded' ? 100 : n.progress} label={`${n.hostname} progress`} state={n.state === 'failed' ? 'failed' : n.state === 'succeeded' ? 'succeeded' : undefined} />
            </td>
            <td>{n.error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
