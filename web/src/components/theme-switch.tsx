import { setTheme, theme, type Theme } from '../lib/theme';
import { useStore } from '../lib/store';

/** Light / dark / system (issue 15 §6). */
export function ThemeSwitch() {
  const t = useStore(theme);
  return (
    <label class="theme-switch">
      <span class="sr-only">Theme</span>
      <select data-testid="theme-switch" value={t} onChange={(e) => setTheme(e.currentTarget.value as Theme)} aria-label="Colour theme">
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
