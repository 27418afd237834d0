/** `GET /api/config`: where the configuration comes from and which sections the UI may edit (issue 15 §1). */
export interface ConfigInfo<Section extends string = string> {
  source: string;
  /** The file changes are saved to; null when nothing can be saved. */
  file: string | null;
  format: 'yaml' | 'json';
  readOnly: boolean;
  /** Why the configuration is read-only, e.g. "managed remotely by config.example.com". */
  readOnlyReason: string | null;
  remoteHost: string | null;
  /** Editable sections; `hot`: applied at once, else at the next restart. */
  sections: Array<{ name: Section; hot: boolean }>;
}
