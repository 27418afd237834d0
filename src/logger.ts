import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactForLog, redactText } from './config/mask-secrets.js';

export type Logger = PinoLogger;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Structured JSON logs on stdout (pino); one line per event. `tee` also gets
 * every line (the in-memory log view, issue 15 §7), after redaction.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream, tee?: DestinationStream): Logger {
  const main = (destination ?? pino.destination({ dest: 1, sync: false })) as DestinationStream;
  return pino(
    {
      level,
      base: { name: 'spore-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets must never reach the log (docs/security.md).
      redact: ['*.password', '*.key', '*.apiKey', 'password', 'apiKey', '*.headers.authorization', '*.secret', 'secret'],
      // …and the one redaction point for URLs, headers and free text (config/mask-secrets.ts).
      formatters: { log: (object) => redactForLog(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          // The message text too (`logger.info('… ?token=…')`).
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactText(args[i] as string);
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    // multistream's levels are floors; the logger's own level (changed at run time) filters first.
    tee ? pino.multistream([{ stream: main, level: 'trace' }, { stream: tee, level: 'trace' }]) : main,
  );
}

/** A logger that writes nothing, for library users and tests that do not care. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
