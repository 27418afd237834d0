import { useState } from 'preact/hooks';
import { ConfirmDialog, ProgressBar } from '../../components/common';
import { FileDrop } from '../../components/file-drop';
import { describeError, uploadForm } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { uploads } from '../../lib/live';
import { useStore } from '../../lib/store';

export function FirmwareUpdate({ ip, hostname }: { ip: string; hostname: string }) {
  const all = useStore(uploads);
  const live = all.get(ip);
  const [file, setFile] = useState<File | null>(null);
  const [sending, setSending] = useState<{ loaded: number; total: number } | null>(null);
  const [result, setResult] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [confirm, setConfirm] = useState(false);

  const start = async () => {
    setConfirm(false);
    if (!file) return;
    setResult(null);
    setSending({ loaded: 0, total: file.size });
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const res = await uploadForm<{ success: boolean; size: number; sha256: string; nodeResponse: unknown }>(
        `/api/node/update?ip=${encodeURIComponent(ip)}`,
        form,
        (p) => setSending(p),
      );
      setResult(
        res.success
          ? { kind: 'ok', text: `${hostname} accepted the image (${formatBytes(res.size)}, sha256 ${res.sha256.slice(0, 12)}…) and is rebooting.` }
          : { kind: 'error', text: `${hostname} refused the image: ${JSON.stringify(res.nodeResponse)}` },
      );
    } catch (err) {
      setResult({ kind: 'error', text: describeError(err) });
    } finally {
      setSending(null);
    }
  };

  const liveText = live
    ? {
        started: 'Upload started',
        progress: 'Sending to the node',
        succeeded: 'The node accepted the image; waiting for it to come back',
        failed: `Update failed${live.error ? `: ${live.error}` : ''}`,
        verified: `Verified: the node is back${live.version ? ` on ${live.version}` : ''}`,
        unverified: `Unverified: the node did not come back as expected${live.error ? ` (${live.error})` : ''}`,
      }[live.status]
    : null;
  const liveState = live ? (live.status === 'failed' || live.status === 'unverified' ? 'failed' : live.status === 'verified' || live.status === 'succeeded' ? 'succeeded' : 'running') : undefined;

  return (
    <section class="card" aria-labelledby="fw-title">
      <h2 id="fw-title">Firmware update</h2>
      <p class="muted">
        Streams an image to this node only. To update many nodes safely, use a <a href="/firmware">rollout</a>.
      </p>
      <FileDrop label="Firmware image for this node" accept=".bin,application/octet-stream" file={file} onFile={setFile} />
      <div class="toolbar">
        <button type="button" class="primary" disabled={!file || sending !== null} onClick={() => setConfirm(true)}>
          Update {hostname}
        </button>
      </div>
      {sending ? (
        <div>
          <p>
            Uploading to the gateway: {formatBytes(sending.loaded)} of {formatBytes(sending.total)}
          </p>
          <ProgressBar value={sending.loaded} max={sending.total || 1} label="Upload to the gateway" />
        </div>
      ) : null}
      {live ? (
        <div data-testid="node-update-progress" data-status={live.status}>
          <p>
            {liveText} — {formatBytes(live.sent)} of {formatBytes(live.total)}
          </p>
          <ProgressBar value={live.sent} max={live.total || 1} label="Firmware sent to the node" state={liveState} />
        </div>
      ) : null}
      {result ? (
        <p class={`notice notice-${result.kind}`} role={result.kind === 'error' ? 'alert' : 'status'}>
          {result.text}
        </p>
      ) : null}
      <ConfirmDialog open={confirm} title={`Flash ${file?.name ?? 'this image'} to ${hostname}?`} confirmLabel="Update" danger onCancel={() => setConfirm(false)} onConfirm={() => void start()}>
        <p>The node writes the image ({formatBytes(file?.size ?? 0)}) and reboots into it. A wrong image can leave it unreachable until reflashed by cable.</p>
      </ConfirmDialog>
    </section>
  );
}
