import { ErrorBox, NotEnabled } from '../../components/common';
import { ApiError, describeError } from '../../lib/api';
import { socket } from '../../lib/app-state';
import { useStore } from '../../lib/store';
import { useApi } from '../../lib/use-api';
import type { FirmwareRecord } from '../../../../src/contract/firmware';
import { FirmwareList } from './firmware-list';
import { asList } from './shared';
import { RolloutWizard } from './rollout-wizard';
import { RolloutsPanel } from './rollouts-panel';
import { UploadFirmware } from './upload-firmware';

export function FirmwarePage() {
  const conn = useStore(socket.state);
  // Read again whenever the WebSocket (re)opens: changes may have been missed meanwhile.
  const { data: firmware, error, reload: load } = useApi('/api/firmware', { deps: [conn.opens], map: (body) => asList<FirmwareRecord>(body, 'firmware') });

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
