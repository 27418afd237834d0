import { ApiError, describeError } from '../lib/api';

/** How a configuration save went: problems with their paths, or what was applied (issue 15 §1). */

export interface Problem {
  path: string;
  message: string;
}
export interface SaveResult {
  saved: string;
  applied: string[];
  needRestart: string[];
}

export const problemsOf = (err: unknown): Problem[] => ((err instanceof ApiError && (err.body as { problems?: Problem[] })?.problems) || []);

/** What a save did, in words: applied now, or at the restart (issue 15 §1). */
export function SaveOutcome({ result }: { result: SaveResult | null }) {
  if (!result) return null;
  return (
    <p class="banner banner-ok" role="status" data-testid="save-result">
      Saved to <code>{result.saved}</code>.{result.applied.length ? ` Applied now: ${result.applied.join(', ')}.` : ''}
      {result.needRestart.length ? <strong> Takes effect at restart: {result.needRestart.join(', ')}.</strong> : ''}
    </p>
  );
}

export function ProblemList({ problems, error }: { problems: Problem[]; error?: unknown }) {
  if (!problems.length && !error) return null;
  return (
    <div class="state state-error" role="alert" data-testid="config-problems">
      <strong>{problems.length ? 'The configuration is not valid:' : describeError(error)}</strong>
      <ul>
        {problems.map((p) => (
          <li key={p.path + p.message}>
            <code>{p.path}</code>: {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
