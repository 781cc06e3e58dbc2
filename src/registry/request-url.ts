/**
 * A request's URL without a URL parse per request: every registry request goes to an origin parsed
 * once (connections.ts) plus a path built from parsed references (`/v2/…`). A path that `new URL`
 * would leave exactly as it is gets the origin's parts and the path as they are; any other (dot
 * segments, characters the parser escapes, an empty query) is parsed as before.
 */

/** What a request needs of its URL; a `URL` is one. */
export type RequestUrl = Pick<
  URL,
  'origin' | 'host' | 'hostname' | 'port' | 'protocol' | 'pathname' | 'search' | 'href'
>;

/**
 * Characters the WHATWG parser keeps as they are in a path and in a special URL's query (no `%` in
 * the path: `%2e` is a dot to it; references never have one).
 */
const KEPT = /^\/[\w.\-/:@~]*(?:\?[\w.\-/:@~%=&]+)?$/;
/** `.` or `..` as a segment: the parser removes them. */
const DOT_SEGMENT = /\/\.{1,2}(?:[/?]|$)/;

export function requestUrl(base: URL, path: string): RequestUrl {
  if (!KEPT.test(path) || DOT_SEGMENT.test(path)) return new URL(base.origin + path);
  const q = path.indexOf('?');
  return {
    origin: base.origin,
    host: base.host,
    hostname: base.hostname,
    port: base.port,
    protocol: base.protocol,
    pathname: q < 0 ? path : path.slice(0, q),
    search: q < 0 ? '' : path.slice(q),
    href: base.origin + path,
  };
}
