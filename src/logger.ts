import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactForLog, redactText } from './config/mask-secrets.js';

export type Logger = PinoLogger;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: human-readable on a terminal, JSON lines otherwise (issue 12 §16). */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What `auto` means here: pretty when stdout is a terminal, JSON lines when piped or redirected. */
export function resolveLogFormat(format: LogFormat, stdoutIsTTY = process.stdout.isTTY === true): 'json' | 'pretty' {
  return format === 'auto' ? (stdoutIsTTY ? 'pretty' : 'json') : format;
}

/**
 * Human-readable lines on stdout: pino-pretty's formatter renders each JSON line in this thread,
 * synchronously, before the line is written (no transport worker thread: it would cost a thread
 * and its heap). Loaded with import() only when chosen, so JSON mode never pays for it.
 */
export async function prettyDestination(options: { colorize?: boolean; out?: DestinationStream & { flush?: () => void } } = {}): Promise<DestinationStream> {
  const mod = (await import('pino-pretty')) as unknown as { prettyFactory?: PrettyFactory; default: { prettyFactory: PrettyFactory } };
  const prettyFactory = mod.prettyFactory ?? mod.default.prettyFactory;
  const format = prettyFactory({
    colorize: options.colorize ?? process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  const out = options.out ?? pino.destination({ dest: 1, sync: false });
  return {
    write: (line: string) => void out.write(format(line)),
    // pino's logger.flush() reaches the file descriptor through this.
    flush: () => out.flush?.(),
  } as DestinationStream;
}
type PrettyFactory = (options: Record<string, unknown>) => (line: string) => string;

/**
 * Structured JSON logs on stdout (pino); one line per event. `tee` also gets
 * every line (the in-memory log view, issue 15 §7), after redaction.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream | DestinationStream, tee?: DestinationStream): Logger {
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
