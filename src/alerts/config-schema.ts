import { z } from 'zod';

/** What an alert rule watches (issue 15 §2; docs/alerts.md). */
export const ALERT_CONDITIONS = ['node.dead', 'node.inactive', 'rollout.failed', 'sink.down', 'sink.backlogAboveMs', 'connector.down', 'device.failing'] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];
export const ALERT_CHANNELS = ['webhook', 'mqtt', 'ui'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `60s`, `5m`, `1500ms`, `1h` or a number of ms. */
export const durationMs = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 30s, 5m, 1500ms, 1h (or a number of ms)')
    .transform((s) => {
      const m = /^(\d+)(ms|s|m|h)$/.exec(s)!;
      return Number(m[1]) * UNIT_MS[m[2]!]!;
    }),
]);

export const alertRuleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (1-64 characters)').optional().describe('The rule\'s name in alerts and notifications; default the condition.'),
    when: z.enum(ALERT_CONDITIONS),
    for: durationMs.default(60_000).describe('The condition must hold this long before the alert fires (default 60 s).'),
    thresholdMs: z.number().int().min(1).optional().describe('`sink.backlogAboveMs`: the oldest queued record\'s age, ms; `device.failing`: no value for this long, ms (default 60 s).'),
    only: z.array(z.string().min(1)).min(1).optional().describe('Only these nodes (hostnames), sinks, connectors or devices (ids); all when absent.'),
    notify: z.array(z.enum(ALERT_CHANNELS)).min(1).default(['ui']),
  })
  .strict()
  .refine((r) => r.when !== 'sink.backlogAboveMs' || r.thresholdMs !== undefined, { message: 'sink.backlogAboveMs needs thresholdMs', path: ['thresholdMs'] });

export type AlertRule = z.infer<typeof alertRuleSchema>;

export const alertsSectionSchema = z.array(alertRuleSchema).default([]);

/** Where alerts go besides the UI (issue 15 §2). */
export const notifySectionSchema = z
  .object({
    webhook: z
      .object({
        url: z.string().regex(/^https?:\/\/[^\s/]+/, 'an http:// or https:// URL').describe('Alerts are POSTed here as JSON, raised and resolved.'),
        secret: z.string().min(8).optional().describe('With a secret, every delivery carries `X-Spore-Signature: sha256=<HMAC-SHA256 of the body, hex>`.'),
        timeoutMs: z.number().int().min(100).default(5000).describe('One delivery attempt may take this long, ms.'),
        retries: z.number().int().min(0).max(20).default(3).describe('Attempts after the first one failed (no answer or not 2xx).'),
        retryDelayMs: z.number().int().min(10).default(1000).describe('Wait before the first retry, doubled each time, ms.'),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    evaluateIntervalMs: z.number().int().min(100).default(1000).describe('How often alert rules are evaluated, ms.'),
    historySize: z.number().int().min(0).max(10_000).default(200).describe('Resolved alerts kept for `GET /api/alerts`.'),
  })
  .strict()
  .prefault({});

export type NotifyConfig = z.infer<typeof notifySectionSchema>;
