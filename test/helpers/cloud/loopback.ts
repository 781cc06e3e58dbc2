/**
 * The dispatcher every cloud test hands its token sources: it dials loopback only and records any
 * other origin it was asked for, so a test proves that nothing reaches metadata.google.internal,
 * 169.254.169.254 or login.microsoftonline.com (and which default a source would have used).
 */
import { Agent, type Dispatcher } from 'undici';

const LOOPBACK = /^(127\.[0-9.]+|localhost|\[::1\])$/i;

export interface LoopbackOnly {
  dispatcher: Dispatcher;
  /** Origins refused, in order. */
  refused: string[];
  close(): Promise<void>;
}

export function loopbackOnly(): LoopbackOnly {
  const agent = new Agent({ connections: 16 });
  const refused: string[] = [];
  const dispatcher = agent.compose((dispatch) => (opts, handler) => {
    const origin = String(opts.origin);
    if (!LOOPBACK.test(new URL(origin).hostname)) {
      refused.push(origin);
      throw new Error(`test dispatcher refused to dial ${origin} (loopback only)`);
    }
    return dispatch(opts, handler);
  });
  return { dispatcher, refused, close: () => agent.close() };
}
