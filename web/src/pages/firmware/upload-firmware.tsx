import { useState } from 'preact/hooks';
import { ProgressBar } from '../../components/common';
import { FileDrop } from '../../components/file-drop';
import { ApiError, describeError, uploadForm } from '../../lib/api';
import { formatBytes, parseLabels } from '../../lib/format';
import type { FirmwareRecord } from '../../../../src/contract/firmware';
import { isEsp8266Image, isGzip, readMarkerVersion } from '../../../../src/protocol/firmware-marker';

/** The checkbox that overrides the store's refusals (its `force` field). */
export const FORCE_LABEL = 'Force: store it even if it is not an ESP8266 application image or its SPORE marker disagrees';

/**
 * A refusal the upload's force option overrides (`override: "force"` in the answer): the
 * gateway's reason, with what the reader can do here (the checkbox) instead of the API field.
 */
export function describeUploadError(err: unknown): string {
  if (err instanceof ApiError) {
    const b = err.body as { override?: unknown; reason?: unknown } | undefined;
    if (b?.override === 'force' && typeof b.reason === 'string') return `${b.reason}. To store it anyway, tick “Force” and upload again.`;
  }
  return describeError(err);
}

/** Images larger than this are not read in the browser to find their version marker, bytes. */
export const MAX_INSPECT_BYTES = 16 * 1024 * 1024;

export interface ImageFacts {
  /** The version its SPORE-VERSION marker declares, or null. */
  markerVersion: string | null;
  /** First byte 0xE9 (inside the gzip stream for a .bin.gz). */
  espImage: boolean;
  firstByte: number | undefined;
}

/** Reads an image as the CLI does (`spore firmware upload`): its first byte and its SPORE-VERSION marker, inflating a .bin.gz. */
export async function inspectImage(file: File): Promise<ImageFacts | null> {
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
export function guessFromFileName(fileName: string): { name: string; version: string } {
  const base = fileName.replace(/\.(bin|img|elf)$/i, '');
  const m = /^(.*?)[-_ ]v?(\d+(?:\.\d+)+(?:[-+.][0-9A-Za-z.]+)?)$/.exec(base);
  return m ? { name: m[1]!, version: m[2]! } : { name: base, version: '' };
}

export function UploadFirmware({ onUploaded }: { onUploaded: () => void }) {
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
