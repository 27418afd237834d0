import { useState } from 'preact/hooks';
import { ConfirmDialog, Empty, Labels, Loading } from '../../components/common';
import { DataTable, type Column } from '../../components/data-table';
import { api, ApiError, describeError } from '../../lib/api';
import { withToken } from '../../lib/auth';
import { formatBytes } from '../../lib/format';
import type { FirmwareRecord } from '../../../../src/contract/firmware';

const FIRMWARE_COLUMNS: Array<Column<FirmwareRecord, (f: FirmwareRecord) => void>> = [
  {
    label: 'Name',
    cell: (f) => (
      <>
        {f.name}
        {f.espImage === false ? (
          <span class="badge badge-warn" title="Stored with force: not an ESP8266 application image; nodes will most likely reject it">
            not an ESP8266 image
          </span>
        ) : null}
      </>
    ),
  },
  { label: 'Version', cellClass: 'mono', cell: (f) => f.version },
  { label: 'Size', cell: (f) => formatBytes(f.size) },
  { label: 'SHA-256', cellClass: 'mono', cellProps: (f) => ({ title: f.sha256 }), cell: (f) => `${f.sha256.slice(0, 12)}…` },
  { label: 'Labels', cell: (f) => <Labels labels={f.labels} /> },
  { label: 'Stored', cell: (f) => new Date(f.createdAt).toLocaleString() },
  {
    label: 'Actions',
    hiddenLabel: true,
    cellClass: 'actions',
    cell: (f, askDelete) => (
      <>
        <a class="button small" href={withToken(`/api/firmware/${encodeURIComponent(f.id)}/download`)} download>
          Download
        </a>
        <button type="button" class="small danger" onClick={() => askDelete(f)} aria-label={`Delete ${f.name} ${f.version}`}>
          Delete
        </button>
      </>
    ),
  },
];

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
        <DataTable testId="firmware-list" columns={FIRMWARE_COLUMNS} rows={firmware} rowKey={(f) => f.id} rowProps={(f) => ({ 'data-firmware-id': f.id })} ctx={setToDelete} />
      )}
      <ConfirmDialog open={toDelete !== null} title={`Delete ${toDelete?.name ?? ''} ${toDelete?.version ?? ''}?`} confirmLabel="Delete" danger onCancel={() => setToDelete(null)} onConfirm={() => void remove()}>
        <p>The image is removed from the store. Nodes already running it are not affected.</p>
      </ConfirmDialog>
    </section>
  );
}
