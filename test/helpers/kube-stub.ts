/**
 * A minimal loopback stand-in for the Kubernetes API for unit tests of one call: `answer` serves the
 * paths a test records; everything else is the API server's NotFound Status. Gives a KubeConfig
 * pointing at it and the requests it saw. (Whole-cluster tests use kube-api.ts's KubeApiStandIn.)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeStub {
  kc: KubeConfig;
  /** `METHOD /path?query` of every request, in order. */
  requests: string[];
  close(): void;
}

const NOT_FOUND = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  reason: 'NotFound',
  code: 404,
});

/** `answer` returns true when it answered the request itself. */
export async function startKubeStub(
  answer: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<KubeStub> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (!answer(req, res)) res.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 't',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 't', token: 'test-token' }],
    contexts: [{ name: 't', cluster: 't', user: 't' }],
    currentContext: 't',
  });
  return {
    kc,
    requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
