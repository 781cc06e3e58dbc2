/** Small files a token source reads on every fetch (projected service-account tokens, key files). */
import { open } from 'node:fs/promises';
import { errorMessage } from '../../../errors.js';
import { unavailable } from './oauth-http.js';

/** A projected token or a credentials file is a few kilobytes; a larger file is refused unread. */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * The file's text, trimmed, read at most `maxBytes` (a file that is larger is refused, not truncated);
 * CREDENTIALS_UNAVAILABLE naming `what` and the file when it is missing, unreadable, empty or too large.
 */
export async function readTokenFile(
  file: string,
  what: string,
  maxBytes = MAX_TOKEN_FILE_BYTES,
): Promise<string> {
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(maxBytes + 1);
      let total = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buf, total, buf.length - total, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
      }
      text = buf.subarray(0, total).toString('utf8').trim();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw unavailable(`cannot read ${what} ${file}: ${errorMessage(err)}`, err);
  }
  if (text === '') throw unavailable(`${what} ${file} is empty`);
  return text;
}
