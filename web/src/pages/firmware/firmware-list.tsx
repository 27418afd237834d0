import { useState } from 'preact/hooks';
import { ConfirmDialog, Empty, Labels, Loading } from '../../components/common';
import { api, ApiError, describeError } from '../../lib/api';
import { withToken } from '../../lib/auth';
import { formatBytes } from '../../lib/format';
import type { FirmwareRecord } from '../../../../src/contract/firmware';

export function FirmwareList({ firmware, onChanged }: { firmware: FirmwareRecord[] | null; onChanged: () => void }) {
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
