/**
 * Connections to registries, per origin, by what the origin speaks. Over HTTPS the first connection
 * to an origin offers HTTP/2 and HTTP/1.1 (ALPN) and is made before the first request is dispatched
 * (`ready`, awaited by Connections.request; concurrent first requests share it); it then becomes the
 * origin's first connection, so learning the protocol costs no handshake of its own. An origin that
 * chose `h2` gets a single undici `Client` that multiplexes every request over that one connection for
 * as long as it lives (one TLS handshake per host, not one per concurrent request); any other origin,
 * and every plain-HTTP one, gets a `Pool` of at most `connections` HTTP/1.1 sockets, as before.
 *
 * Why not undici's `allowH2` on a Pool: the pool opens a connection for each request it finds no free
 * client for, and a burst is dispatched before the first HTTP/2 session is up (docs/benchmarks.md).
 * The per-host and total request caps (connections.ts) and the byte budgets apply unchanged: on one
 * HTTP/2 connection they bound streams instead of sockets. The guarded DNS lookup is in `connect`,
 * which every connection (the first one included) goes through.
 */
import type { Socket } from 'node:net';
import { Agent, Client, Pool, buildConnector, type Dispatcher } from 'undici';

export interface OriginPoolsOptions {
  /** HTTP/1.1 sockets per origin (maxConnectionsPerRegistry). */
  connections: number;
  /** Connector options: timeout, guarded lookup, CA bundle. */
  connect: buildConnector.BuildOptions;
  /**
   * Sockets kept open to origins with no request in flight, all origins together (maxIdleSockets).
   * undici keeps every idle keep-alive socket (and its pool) per origin, and pod specs choose the
   * origins: without this bound 6,400 distinct hosts left 6,403 sockets open.
   */
  maxIdleSockets: number;
}

type Protocol = 'h2' | 'http/1.1';
/** What a first connection needs of a request's URL (a URL is one). */
type Endpoint = Pick<URL, 'origin' | 'protocol' | 'hostname' | 'host' | 'port'>;

/** Origins whose protocol is remembered (hosts come from pod specs: bounded). */
const MAX_ORIGINS = 1024;
/** How long a first connection waits for its dispatcher before it is closed. */
const SPARE_MS = 10_000;

const byAgent = new WeakMap<Dispatcher, OriginPools>();

function alpnOf(socket: Socket): string | false | undefined {
  return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
}

export class OriginPools {
  /** The OriginPools whose `agent` is `dispatcher`, if it is one. */
  static of(dispatcher: Dispatcher): OriginPools | undefined {
    return byAgent.get(dispatcher);
  }

  readonly agent: Agent;
  readonly #connector: buildConnector.connector;
  readonly #protocols = new Map<string, Protocol>();
  readonly #spares = new Map<string, Socket>();
  readonly #probes = new Map<string, Promise<void>>();
  readonly #connections: number;
  readonly #maxIdle: number;
  /** Open sockets per origin (spares included), in least recently used order of their origins. */
  readonly #sockets = new Map<string, Set<Socket>>();
  /** Requests in flight per origin (`using`); an origin absent here is idle. */
  readonly #active = new Map<string, number>();
  #idleSockets = 0;

  constructor(options: OriginPoolsOptions) {
    this.#connections = options.connections;
    this.#maxIdle = options.maxIdleSockets;
    this.#connector = buildConnector({ ...options.connect, allowH2: true });
    this.agent = new Agent({
      connections: options.connections,
      factory: (origin, opts) => this.#dispatcherFor(origin, opts),
    });
    byAgent.set(this.agent, this);
  }

  /** What `origin` (`https://host:port`) was found to speak; undefined until its first connection. */
  protocol(origin: string): Protocol | undefined {
    return this.#protocols.get(origin);
  }

  /**
   * Resolves when requests to `url`'s origin may be dispatched: at once for plain HTTP and known
   * origins; else once the first connection is up (or failed: the request then connects, and fails,
   * on its own, with the usual error). Never rejects; stops waiting when `signal` aborts.
   */
  ready(url: Endpoint, signal: AbortSignal, origin = url.origin): Promise<void> | undefined {
    if (this.#protocols.has(origin) || url.protocol !== 'https:') return undefined;
    let probe = this.#probes.get(origin);
    if (probe === undefined) {
      probe = this.#probe(url).finally(() => this.#probes.delete(origin));
      this.#probes.set(origin, probe);
    }
    if (signal.aborted) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void probe.then(done);
    });
  }

  #probe(url: Endpoint): Promise<void> {
    const origin = url.origin;
    // As undici's Client asks its connector: an IPv6 literal without its brackets.
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return new Promise<void>((resolve) => {
      this.#connector({ hostname, host: url.host, protocol: url.protocol, port: url.port }, (err, socket) => {
        if (err !== null || socket === null || socket === undefined) {
          resolve();
          return;
        }
        this.#remember(origin, alpnOf(socket) === 'h2' ? 'h2' : 'http/1.1');
        this.#track(origin, socket);
        this.#spares.get(origin)?.destroy();
        this.#spares.set(origin, socket);
        setTimeout(() => this.#dropSpare(origin, socket), SPARE_MS).unref();
        resolve();
      });
    });
  }

  #remember(origin: string, protocol: Protocol): void {
    if (this.#protocols.size >= MAX_ORIGINS && !this.#protocols.has(origin)) this.#protocols.clear();
    this.#protocols.set(origin, protocol);
  }

  #dropSpare(origin: string, socket: Socket): void {
    if (this.#spares.get(origin) !== socket) return;
    this.#spares.delete(origin);
    socket.destroy();
  }

  #dispatcherFor(origin: string | URL, opts: object): Dispatcher {
    const key = new URL(String(origin)).origin;
    const connect: buildConnector.connector = (options, callback) => {
      const spare = this.#spares.get(key);
      this.#spares.delete(key);
      if (spare !== undefined && !spare.destroyed && spare.readyState === 'open') {
        // Asynchronously, as a real connect answers: undici ignores a resume from inside its own.
        queueMicrotask(() => callback(null, spare));
        return;
      }
      spare?.destroy();
      this.#connector(options, (...args) => {
        // What the origin speaks now (another node behind its balancer may differ): the next
        // dispatcher for it follows (this one is closed by the Agent when its connections end).
        // (On failure undici's connector passes the error alone.)
        if (args[0] === null && options.protocol === 'https:') {
          this.#remember(key, alpnOf(args[1]) === 'h2' ? 'h2' : 'http/1.1');
        }
        if (args[0] === null) this.#track(key, args[1]);
        callback(...args);
      });
    };
    if (this.#protocols.get(key) === 'h2') {
      // Streams in flight: as many as the per-host cap lets through (undici's default is 1).
      const streams = this.#connections;
      return new Client(origin, {
        ...opts,
        connect,
        allowH2: true,
        pipelining: streams,
        maxConcurrentStreams: streams,
      });
    }
    return new Pool(origin, { ...opts, connect });
  }

  /** Sockets open now: to origins with requests in flight, and idle ones (at most maxIdleSockets). */
  sockets(): { open: number; idle: number } {
    let open = 0;
    for (const set of this.#sockets.values()) open += set.size;
    return { open, idle: this.#idleSockets };
  }

  /**
   * Marks a request to `origin` in flight until the returned function is called (Connections.request
   * does, before `ready`): its origin's sockets are not idle meanwhile, and are the last to be closed.
   */
  using(origin: string): () => void {
    const n = this.#active.get(origin) ?? 0;
    this.#active.set(origin, n + 1);
    if (n === 0) this.#idleSockets -= this.#sockets.get(origin)?.size ?? 0;
    this.#touch(origin);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.#active.get(origin) ?? 1) - 1;
      if (left > 0) {
        this.#active.set(origin, left);
        return;
      }
      this.#active.delete(origin);
      this.#idleSockets += this.#sockets.get(origin)?.size ?? 0;
      this.#trim();
    };
  }

  /** Moves `origin` to the most recently used end. */
  #touch(origin: string): void {
    const set = this.#sockets.get(origin);
    if (set === undefined) return;
    this.#sockets.delete(origin);
    this.#sockets.set(origin, set);
  }

  #track(origin: string, socket: Socket): void {
    let set = this.#sockets.get(origin);
    if (set === undefined) {
      set = new Set();
      this.#sockets.set(origin, set);
    }
    if (set.has(socket)) return;
    set.add(socket);
    const idle = !this.#active.has(origin);
    if (idle) this.#idleSockets += 1;
    socket.once('close', () => {
      const current = this.#sockets.get(origin);
      if (current === undefined || !current.delete(socket)) return;
      if (!this.#active.has(origin)) this.#idleSockets -= 1;
      if (current.size === 0) this.#sockets.delete(origin);
    });
    if (idle) this.#trim();
  }

  /** Closes the least recently used idle origins' sockets until at most maxIdleSockets stay open. */
  #trim(): void {
    if (this.#idleSockets <= this.#maxIdle) return;
    for (const [origin, set] of this.#sockets) {
      if (this.#idleSockets <= this.#maxIdle) return;
      if (this.#active.has(origin)) continue;
      // destroy() emits 'close' later: account for them now so the loop stops at the bound.
      this.#sockets.delete(origin);
      this.#idleSockets -= set.size;
      for (const socket of set) socket.destroy();
    }
  }

  close(): Promise<void> {
    for (const s of this.#spares.values()) s.destroy();
    this.#spares.clear();
    return this.agent.close();
  }
}
