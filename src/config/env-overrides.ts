import { def, unwrap, type AnySchema } from './schema-walk.js';
import { closest } from './unknown-keys.js';

/**
 * Environment overrides derived from the configuration schema: every setting
 * `section.someKey` can be set as `SPORE_SECTION_SOME_KEY` (nested objects add
 * more parts: `mqtt.tls.caFile` → `SPORE_MQTT_TLS_CA_FILE`; top-level settings
 * have one: `dataDir` → `SPORE_DATA_DIR`). Variables that name no setting —
 * `SPORE_GATEWAY` of the `spore` CLI, `SPORE_REQUIRE_PEERS` of the tests — are
 * not configuration and are left alone.
 */

export const ENV_PREFIX = 'SPORE_';

type LeafKind = 'number' | 'boolean' | 'json' | 'string';

export interface EnvSetting {
  /** Dotted path into the configuration, e.g. `nodes.requestTimeoutMs`. */
  path: string[];
  variable: string;
  kind: LeafKind;
}




function leafKind(schema: AnySchema): LeafKind {
  const d = def(schema);
  switch (d.type) {
    case 'number':
    case 'int':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
    case 'enum':
    case 'literal':
    case 'template_literal':
      return 'string';
    case 'union':
      return (d.options ?? []).every((o) => leafKind(unwrap(o)) === 'string') ? 'string' : 'json';
    default:
      return 'json'; // arrays, records, objects inside arrays: JSON text
  }
}

function toEnvName(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every setting of the schema that an environment variable can set. */
export function envSettings(schema: AnySchema, path: string[] = []): EnvSetting[] {
  const s = unwrap(schema);
  const d = def(s);
  if (d.type === 'object' && d.shape) {
    return Object.entries(d.shape).flatMap(([key, child]) => envSettings(child, [...path, key]));
  }
  if (path.length === 0) return [];
  return [{ path, variable: toEnvName(path), kind: leafKind(s) }];
}

function parseValue(raw: string, kind: LeafKind): unknown {
  switch (kind) {
    case 'number': {
      const n = Number(raw);
      // Left as text when not a number, so validation names the setting and what it accepts.
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    case 'boolean':
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    case 'string':
      return raw;
  }
}

export interface EnvLayer {
  /** A partial configuration object built from the environment. */
  values: Record<string, unknown>;
  /**
   * `SPORE_<SECTION>_…` variables of a known section that name no setting
   * (`SPORE_AUTH_PROTECTREADS`): typos, reported with the closest variable.
   */
  problems?: string[];
  /** Dotted path → the variable that set it, so errors can name the variable. */
  sources: Map<string, string>;
}

/** Builds the configuration layer the environment sets. */
export function configFromEnv(schema: AnySchema, env: NodeJS.ProcessEnv): EnvLayer {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const setting of envSettings(schema)) {
    const raw = env[setting.variable];
    if (raw === undefined) continue;
    let target = values;
    for (const part of setting.path.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Record<string, unknown>;
    }
    target[setting.path.at(-1)!] = parseValue(raw, setting.kind);
    sources.set(setting.path.join('.'), setting.variable);
  }
  const settings = envSettings(schema);
  const known = new Set(settings.map((s) => s.variable));
  const sections = new Set(settings.filter((s) => s.path.length > 1).map((s) => toEnvName([s.path[0]!])));
  const problems: string[] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith(ENV_PREFIX) || known.has(variable)) continue;
    // Only variables inside a section are configuration; SPORE_GATEWAY (the CLI's) is a section name alone.
    const section = [...sections].find((prefix) => variable.startsWith(`${prefix}_`));
    if (!section) continue;
    const hint = closest(variable, [...known].filter((k) => k.startsWith(`${section}_`)));
    problems.push(`environment variable ${variable} names no setting${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return { values, sources, problems };
}
