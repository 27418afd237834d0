import { z } from 'zod';
import { adminMethod, type JsonRpcServer } from './json-rpc.js';
import type { ConfigEditor } from '../../config/config-editor.js';

const section = z.string().min(1).max(64);
/** A section's new value, or a whole file. */
const change = z.object({ section: section.optional(), value: z.unknown().optional(), text: z.string().optional() }).strict();

/** JSON-RPC over configuration editing (issue 15 §1): the same service as `/api/config`. */
export function registerConfigRpcMethods(rpc: JsonRpcServer, editor: ConfigEditor): void {
  rpc.registerAll({
    'config.get': adminMethod('One section ({section}), or where the configuration comes from ({}), as GET /api/config/{section}.', z.object({ section: section.optional() }).strict(), (p) =>
      p.section ? editor.getSection(p.section) : editor.info(),
    ),
    'config.set': adminMethod('Replaces a section ({section, value}) or the whole file ({text}), as PUT /api/config/{section}.', change, (p) =>
      p.text !== undefined ? editor.putRaw(p.text) : editor.putSection(p.section ?? '', p.value),
    ),
    'config.validate': adminMethod('Checks a section ({section, value}) or a whole file ({text}) without saving, as POST /api/config/validate.', change, (p) => editor.validate(p)),
  });
}
