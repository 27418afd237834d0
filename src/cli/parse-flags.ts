/**
 * Go-style command-line parsing shared by every binary: `-port 3001`,
 * `--port 3001`, `--port=3001` and `-port=3001` are all accepted (CONTRACT §1).
 * Errors name the option and the accepted values, in one line.
 */

export interface FlagSpec<T = unknown> {
  /** Name without dashes, e.g. "udp-port". */
  name: string;
  /** One line of help: what it does. */
  description: string;
  /** What is accepted, shown in help and errors, e.g. "an integer 1-65535". */
  accepts: string;
  /** Boolean flags take no value (`-flag`, or `-flag=true|false`). */
  boolean?: boolean;
  /** Converts the raw string; returns undefined when invalid. */
  parse: (raw: string) => T | undefined;
  defaultText?: string;
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export interface ParsedFlags {
  values: Map<string, unknown>;
  positionals: string[];
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, unknown>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) {
      throw new FlagError(`unknown option -${name} (accepted: ${specs.map((s) => `-${s.name}`).join(', ')})`);
    }
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.boolean) raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new FlagError(`option -${name} needs a value: ${spec.accepts}`);
      raw = next;
      i++;
    }
    const value = spec.parse(raw);
    if (value === undefined) {
      throw new FlagError(`invalid value ${JSON.stringify(raw)} for option -${name}: expected ${spec.accepts}`);
    }
    values.set(name, value);
  }
  return { values, positionals };
}

export const parsers = {
  port(min = 1) {
    return (raw: string) => {
      if (!/^\d{1,5}$/.test(raw)) return undefined;
      const n = Number(raw);
      return n >= min && n <= 65535 ? n : undefined;
    };
  },
  integer(min: number, max = Number.MAX_SAFE_INTEGER) {
    return (raw: string) => {
      if (!/^-?\d+$/.test(raw)) return undefined;
      const n = Number(raw);
      return n >= min && n <= max ? n : undefined;
    };
  },
  oneOf<T extends string>(values: readonly T[]) {
    return (raw: string) => ((values as readonly string[]).includes(raw) ? (raw as T) : undefined);
  },
  nonEmpty(raw: string) {
    return raw.length > 0 ? raw : undefined;
  },
  boolean(raw: string) {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return undefined;
  },
};

export function formatHelp(usage: string, specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length + (s.boolean ? 0 : 6)));
  const lines = specs.map((s) => {
    const left = `-${s.name}${s.boolean ? '' : ' <val>'}`.padEnd(width + 2);
    const def = s.defaultText ? ` (default ${s.defaultText})` : '';
    return `  ${left} ${s.description}; ${s.accepts}${def}`;
  });
  return `${usage}\n\nOptions (single or double dash, "-name value" or "-name=value"):\n${lines.join('\n')}\n`;
}

/** The `-help` flag every tool has. */
export const HELP_FLAG: FlagSpec = { name: 'help', description: 'show this help', accepts: 'no value', boolean: true, parse: parsers.boolean };

/**
 * A tool's command line: the flag values, or the exit code when there is
 * nothing more to do (help printed → 0, a bad flag explained in one line → 2).
 */
export function parseCommandLine(binary: string, argv: readonly string[], specs: readonly FlagSpec[], usage: string): Map<string, unknown> | number {
  let values: Map<string, unknown>;
  try {
    values = parseFlags(argv, specs).values;
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${binary}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (values.get('help')) {
    process.stdout.write(formatHelp(usage, specs));
    return 0;
  }
  return values;
}
