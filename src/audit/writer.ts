/**
 * The audit writer: a dedicated pino logger whose destination is injectable, so tests read the JSON
 * lines and production can send them to their own file or stream.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { AuditRecord } from './record.js';

export interface AuditWriter {
  write(record: AuditRecord): void;
  /** Flush buffered records (SIGTERM). */
  flush(): Promise<void>;
}

export function createAuditWriter(destination?: DestinationStream): AuditWriter {
  const dest = destination ?? pino.destination({ dest: 1, sync: false });
  const logger: Logger = pino({ base: { logger: 'audit' }, messageKey: 'msg' }, dest);
  return {
    write(record) {
      logger.info(record, 'decision');
    },
    flush() {
      return new Promise((resolve) => {
        const d = dest as { flush?: (cb: (err?: Error) => void) => void };
        if (typeof d.flush === 'function') {
          try {
            d.flush(() => resolve());
            return;
          } catch {
            // A destination that cannot flush (e.g. not yet open) has nothing buffered for us.
          }
        }
        resolve();
      });
    },
  };
}
