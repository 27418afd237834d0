/** The SPORE UI's development server (CONTRACT §4), allowed by the default allow-list. */
export const SPORE_UI_ORIGIN = 'http://localhost:3000';

/**
 * Whether a browser page from `origin` may call the gateway (HTTP CORS, and the embedded MQTT
 * broker's WebSocket listener: one allow-list, `http.corsOrigins`). Configured origins win;
 * unset, any origin while no API key is configured (CONTRACT §4) and only the gateway's own
 * origin and the SPORE UI's once keys are (docs/security.md).
 */
export function originAllowed(origin: string, host: string | undefined, configured: string[] | undefined, authEnabled: boolean): boolean {
  const allowList = configured ?? (authEnabled ? [SPORE_UI_ORIGIN] : ['*']);
  if (allowList.includes('*')) return true;
  if (host && (origin === `http://${host}` || origin === `https://${host}`)) return true;
  return allowList.includes(origin);
}
