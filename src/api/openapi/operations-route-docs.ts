import { z } from 'zod';
import { checkedByService, documented } from './route-doc.js';

/**
 * Descriptions of the routes for running the gateway from the browser
 * (issue 15): configuration, alerts, history, backup/restore and logs.
 */

const ANY_JSON = z.looseObject({}).describe('See docs/configuration.md, docs/alerts.md, docs/history.md.');
const SectionParams = z.object({ section: checkedByService(z.string().describe('mqtt, pipeline, auth, nodes, firmware, alerts, notify, history, backup or log.'), 'another name answers 404 not_found') });
const KeyParams = z.object({ name: z.string().min(1).describe("The API key's name.") });
const READ_ONLY = 'The configuration is managed remotely or fixed at start (`config_read_only`).';
const INVALID = 'The configuration is not valid (`invalid_config`); `problems` lists each with its path.';
const SaveAnswer = z.looseObject({
  saved: z.string().describe('The file written.'),
  applied: z.array(z.string()).describe('Sections applied at once.'),
  needRestart: z.array(z.string()).describe('Sections that take effect at the next restart.'),
});

export function configRouteDocs() {
  return {
    info: documented({
      summary: 'Where the configuration comes from and whether it can be edited',
      tags: ['management'],
      responses: { 200: { description: 'Source, file, read-only state, editable sections.', schema: ANY_JSON } },
    }),
    schema: documented({
      summary: 'JSON Schema of each editable section',
      description: 'Types, enums and defaults, from the start-up schema (the Settings forms are built from it).',
      tags: ['management'],
      responses: { 200: { description: 'Section name → JSON Schema.', schema: ANY_JSON } },
    }),
    raw: documented({
      summary: 'The configuration file as text, secrets masked',
      tags: ['management'],
      responses: { 200: { description: 'The file.', schema: ANY_JSON } },
    }),
    putRaw: documented({
      summary: 'Replace the configuration file',
      description: 'Validated with the start-up schema; written atomically, the previous file kept as `.bak`. Masked secrets sent back keep their values.',
      tags: ['management'],
      body: checkedByService(z.object({ text: z.string() }), 'an invalid document answers 400 invalid_config'),
      responses: { 200: { description: 'Saved.', schema: SaveAnswer }, 400: INVALID, 409: READ_ONLY },
    }),
    get: documented({
      summary: 'One configuration section',
      tags: ['management'],
      params: SectionParams,
      responses: { 200: { description: 'The value in force and what the file says, secrets masked.', schema: ANY_JSON }, 404: 'No such section (`not_found`).' },
    }),
    put: documented({
      summary: 'Replace one configuration section',
      description: 'Applied at once where the section is hot, otherwise saved for the next restart (`needRestart`).',
      tags: ['management'],
      params: SectionParams,
      body: checkedByService(z.unknown().describe('The section as it should be in the file.'), 'an invalid value answers 400 invalid_config'),
      responses: { 200: { description: 'Saved.', schema: SaveAnswer }, 400: INVALID, 404: 'No such section (`not_found`).', 409: READ_ONLY },
    }),
    validate: documented({
      summary: 'Check a section or a whole file without saving',
      tags: ['management'],
      body: checkedByService(z.object({ section: z.string().optional(), value: z.unknown().optional(), text: z.string().optional() }), 'answers valid: false with problems'),
      responses: { 200: { description: '`{valid, problems: [{path, message}]}`.', schema: ANY_JSON } },
    }),
    createKey: documented({
      summary: 'Create an API key',
      description: 'The secret is in this answer only; the file keeps its SHA-256.',
      tags: ['management'],
      body: checkedByService(z.object({ name: z.string(), scope: z.enum(['read', 'admin']).optional() }), 'a bad name or scope answers 400 bad_request'),
      responses: { 201: { description: 'The key, shown once.', schema: ANY_JSON }, 409: 'A key of that name exists (`conflict`), or the configuration is read-only (`config_read_only`).' },
    }),
    revokeKey: documented({
      summary: 'Revoke an API key',
      tags: ['management'],
      params: KeyParams,
      responses: { 200: { description: 'Revoked.', schema: ANY_JSON }, 404: 'No key of that name (`not_found`).', 409: READ_ONLY },
    }),
    testConnector: documented({
      summary: 'Test a connector configuration',
      description: 'Runs the connector until its first reading (Modbus read, HTTP fetch) or connection (MQTT), then stops it. Nothing is saved.',
      tags: ['pipeline'],
      body: checkedByService(ANY_JSON, 'an invalid connector answers 400 invalid_config'),
      responses: { 200: { description: '`{ok, state, readings, error}`.', schema: ANY_JSON }, 400: INVALID },
    }),
    scanConnector: documented({
      summary: 'Scan an M-Bus line before adding its connector',
      description:
        'Body `{connector: {type: mbus, path, baudRate…} | {type: mbus-tcp, host, port}, from, to}`: opens the line, tries the primary addresses from..to (SND_NKE), reads each meter that answers once (REQ_UD2) and closes the line. Nothing is saved. A running connector scans with POST /api/connectors/{id}/scan.',
      tags: ['pipeline'],
      body: checkedByService(ANY_JSON, 'an invalid body answers 400 invalid_config'),
      responses: {
        200: { description: '`{from, to, meters: [{address, id, manufacturer, medium, records: [{index, quantity, unit, value}], error}], tookMs}`.', schema: ANY_JSON },
        400: INVALID,
        409: 'A scan of that line is running (`conflict`).',
        503: 'The line cannot be opened (`device_unavailable`), e.g. a connector holds the port.',
      },
    }),
  };
}

export function alertRouteDocs() {
  return {
    list: documented({
      summary: 'Firing and recently resolved alerts',
      tags: ['management'],
      responses: { 200: { description: '`{active, recent, rules, webhook}`.', schema: ANY_JSON } },
    }),
  };
}

const HistoryQuery = z.object({
  series: z.string().describe('Series names separated by ",": nodes/<hostname>/freeHeap|latency|status, devices/<device>/<channel>.'),
  from: z.string().optional().describe('RFC3339 or ms since the epoch; default one hour before `to`.'),
  to: z.string().optional().describe('RFC3339 or ms since the epoch; default now.'),
  step: z.string().optional().describe('Bucket width: ms or 30s, 5m, 1h, 1d. Default: the finest within 5,000 points.'),
});

export function historyRouteDocs() {
  return {
    query: documented({
      summary: 'History of node metrics and pipeline channels',
      description: 'Raw samples for the last 24 h, 1-minute min/avg/max for 30 days (docs/history.md).',
      tags: ['management'],
      querystring: checkedByService(HistoryQuery, 'bad values answer 400 bad_request'),
      responses: { 200: { description: '`{from, to, series: [{name, unit, resolution, stepMs, t, avg, min, max}]}`.', schema: ANY_JSON }, 400: 'A bad series name, time or step (`bad_request`).', 503: 'History is off (`history_disabled`).' },
    }),
    series: documented({
      summary: 'The series history knows',
      tags: ['management'],
      responses: { 200: { description: '`{series: [{name, unit}], stats}`.', schema: ANY_JSON }, 503: 'History is off (`history_disabled`).' },
    }),
  };
}

export function backupRouteDocs() {
  return {
    backup: documented({
      summary: 'Download a backup',
      description: 'One tar.gz: configuration, firmware store and rollout history, node registry, pipeline state (docs/backup.md).',
      tags: ['management'],
      responses: { 200: { description: 'The archive.', schema: z.string().meta({ format: 'binary' }), contentType: 'application/gzip' } },
    }),
    restore: documented({
      summary: 'Restore a backup',
      description: 'The archive as the body (`application/gzip`). Everything is validated first; sections that are not hot take effect at the next restart (`needRestart`).',
      tags: ['management'],
      bodyContentType: 'application/gzip',
      responses: { 200: { description: 'What was restored.', schema: ANY_JSON }, 400: 'Not a valid backup (`invalid_backup`).' },
    }),
  };
}

const LogsQuery = z.object({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional().describe('This level and above.'),
  since: z.string().regex(/^\d+$/).optional().describe('Lines after this seq.'),
  limit: z.string().regex(/^\d+$/).optional().describe('At most this many of the newest lines.'),
});

export function logRouteDocs() {
  return {
    logs: documented({
      summary: 'The newest log lines',
      description: 'From memory (log.bufferLines); secrets are redacted at the source. Live: connect to /ws?logs=1 with an admin key for `log/line` messages.',
      tags: ['management'],
      querystring: LogsQuery,
      responses: { 200: { description: '`{lines: [{seq, time, level, msg, component, fields}], lastSeq}`.', schema: ANY_JSON } },
    }),
  };
}
