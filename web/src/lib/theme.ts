import { Store } from './store';

/** The colour theme: follow the system, or a choice kept in this browser (issue 15 §6). */
export type Theme = 'system' | 'light' | 'dark';
const KEY = 'spore-gateway.theme';

function stored(): Theme {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

export const theme = new Store<Theme>(stored());

export function applyTheme(t: Theme): void {
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

export function setTheme(t: Theme): void {
  try {
    if (t === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, t);
  } catch {
    // storage unavailable: this page only
  }
  applyTheme(t);
  theme.set(t);
}
