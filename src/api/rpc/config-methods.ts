import { z } from 'zod';
import type { JsonRpcServer } from './json-rpc.js';
import type { ConfigEditor } from '../../config/config-editor.js';

/** JSON-RPC over configuration editing (issue 15 §1): the same service as `/api/config`. */
export function registerConfigRpcMethods(rpc: JsonRpcServer, editor: ConfigEditor): void {
  rpc.register('config.get', {
    description: 'One section ({section}), or where the configuration comes from ({}), as GET /api/config/{section}.',
    requires: 'admin',
    params: z.object({ section: z.string().min(1).max(64).optional() }).strict(),
    handler: (p) => (p.section ? editor.getSection(p.section) : editor.info()),
  });
  rpc.register('config.set', {
    description: 'Replaces a section ({section, value}) or the whole file ({text}), as PUT /api/config/{section}.',
    requires: 'admin',
    params: z.object({ section: z.string().min(1).max(64).optional(), value: z.unknown().optional(), text: z.string().optional() }).strict(),
    handler: (p) => (p.text !== undefined ? editor.putRaw(p.text) : editor.putSection(p.section ?? '', p.value)),
  });
  rpc.register('config.validate', {
    description: 'Checks a section ({section, value}) or a whole file ({text}) without saving, as POST /api/config/validate.',
    requires: 'admin',
    params: z.object({ section: z.string().min(1).max(64).optional(), value: z.unknown().optional(), text: z.string().optional() }).strict(),
    handler: (p) => editor.validate(p),
  });
}
