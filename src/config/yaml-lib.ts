/**
 * The `yaml` library, loaded on first use (issue 16 §3): a default gateway reads a JSON file or
 * none, and `yaml` is ~70 modules and ~0.9 MiB of V8 heap that an idle gateway need not hold.
 * `loadYaml()` is awaited on every path that parses YAML; `yaml()` is the loaded module for the
 * synchronous helpers called after it.
 */
type YamlModule = typeof import('yaml');

let lib: YamlModule | undefined;

export async function loadYaml(): Promise<YamlModule> {
  return (lib ??= await import('yaml'));
}

export function yaml(): YamlModule {
  if (!lib) throw new Error('internal: yaml used before loadYaml()');
  return lib;
}
