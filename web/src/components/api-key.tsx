import { useEffect, useRef, useState } from 'preact/hooks';
import { socket } from '../lib/app-state';
import { auth, setApiKey } from '../lib/auth';
import { fetchNodes } from '../lib/cluster';
import { useStore } from '../lib/store';

function useKey(): (key: string | null) => void {
  return (key) => {
    setApiKey(key);
    socket.restart();
    void fetchNodes();
  };
}

/** The header's key button: opens a small dialog to set or clear the API key. */
export function ApiKeyButton() {
  const st = useStore(auth);
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState('');
  const dialog = useRef<HTMLDialogElement>(null);
  const apply = useKey();
  useEffect(() => {
    const d = dialog.current;
    if (!d) return; // not rendered on a gateway without keys
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  if (!st.key && !st.needed) return null; // a gateway without keys: nothing to show
  return (
    <>
      <button type="button" class="small" onClick={() => (setDraft(''), setOpen(true))} aria-label={st.key ? 'API key set: change or clear it' : 'Set an API key'}>
        {st.key ? 'API key ✓' : 'API key…'}
      </button>
      <dialog ref={dialog} class="dialog" aria-labelledby="key-title" onCancel={(e) => (e.preventDefault(), setOpen(false))}>
        <h2 id="key-title">API key</h2>
        <p>This gateway has API keys configured. The key is kept in this browser only and sent with every call.</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            apply(draft);
            setOpen(false);
          }}
        >
          <label class="field">
            <span>Key</span>
            <input type="password" autoComplete="off" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          </label>
          <div class="dialog-actions">
            {st.key ? (
              <button type="button" class="danger" onClick={() => (apply(null), setOpen(false))}>
                Forget the key
              </button>
            ) : null}
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={!draft.trim()}>
              Use this key
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Under the header: asks for a key after a 401, explains a 403. */
export function ApiKeyBanner() {
  const st = useStore(auth);
  const [draft, setDraft] = useState('');
  const apply = useKey();
  if (st.needed) {
    return (
      <div class="banner banner-warn" role="alert" data-testid="api-key-banner">
        <strong>This gateway asks for an API key{st.key ? '; the one given was refused' : ''}.</strong>
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            apply(draft);
            setDraft('');
          }}
        >
          <input type="password" autoComplete="off" aria-label="API key" placeholder="API key" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          <button type="submit" class="primary" disabled={!draft.trim()}>
            Use key
          </button>
        </form>
        <span class="muted">Ask the gateway's administrator for a key (admin scope to change nodes, firmware and rollouts).</span>
      </div>
    );
  }
  if (st.forbidden) {
    return (
      <div class="banner banner-warn" role="status">
        <strong>Not allowed with this key:</strong> {st.forbidden} Changing nodes, firmware and rollouts needs a key with the admin scope.{' '}
        <button type="button" class="small" onClick={() => auth.set({ ...st, forbidden: null })}>
          Dismiss
        </button>
      </div>
    );
  }
  return null;
}
