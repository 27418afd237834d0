import { useRef, useState } from 'preact/hooks';
import { formatBytes } from '../lib/format';

/**
 * A drop zone for one file that is also a labelled file input, so it works
 * with the mouse (drag and drop or click), the keyboard (Tab, Enter) and
 * automation (setInputFiles on the input).
 */
export function FileDrop({ label, accept, file, onFile }: { label: string; accept?: string; file: File | null; onFile: (f: File | null) => void }) {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const id = useRef(`file-${Math.random().toString(36).slice(2, 8)}`).current;
  return (
    <div
      class={`drop ${over ? 'drop-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = e.dataTransfer?.files?.[0];
        if (f) onFile(f);
      }}
      data-testid="file-drop"
    >
      <label for={id}>{label}</label>
      <input ref={input} id={id} type="file" accept={accept} onChange={(e) => onFile(e.currentTarget.files?.[0] ?? null)} />
      <p class="muted">{file ? `${file.name} — ${formatBytes(file.size)}` : 'Drop a file here, or choose one.'}</p>
    </div>
  );
}
