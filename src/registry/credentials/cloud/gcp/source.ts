/**
 * Google Artifact Registry and Container Registry (`*-docker.pkg.dev`, `gcr.io`, `*.gcr.io`) as the
 * workload's Google identity: `GOOGLE_APPLICATION_CREDENTIALS` (external_account or service_account)
 * when set, else the GKE/GCE metadata server (`GCE_METADATA_HOST`, else metadata.google.internal).
 * The registry takes the access token as basic `oauth2accesstoken:<token>`.
 */
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { errorMessage } from '../../../../errors.js';
import { isRegistryAllowed } from '../../../allow.js';
import {
  DEFAULT_METADATA_HOST,
  externalAccountToken,
  googleIdentity,
  loadGoogleCredentials,
  metadataToken,
  serviceAccountToken,
  type GoogleCredentials,
} from './token.js';
import type { CloudHttp, CloudToken as AccessToken } from '../oauth-http.js';
import { SharedToken } from '../shared-token.js';
import type { GcpCloudConfig } from '../config.schema.js';
import type { CloudEnv, CloudToken, CloudTokenSource } from '../source.js';

/** Google's registry hosts (port 443 or none): Artifact Registry's regional and multi-regional, GCR's. */
export function isGoogleRegistry(registry: string): boolean {
  const host = registry.toLowerCase().replace(/:443$/, '');
  return (
    host === 'gcr.io' || /^[a-z0-9-]+\.gcr\.io$/.test(host) || /^[a-z0-9-]+-docker\.pkg\.dev$/.test(host)
  );
}

export interface GoogleSourceOptions {
  /** GOOGLE_APPLICATION_CREDENTIALS: when set, the file decides the method (metadata server otherwise). */
  credentialsFile?: string | undefined;
  /** GCE_METADATA_HOST (host[:port]); default metadata.google.internal. */
  metadataHost?: string | undefined;
  /** More registry hosts this identity serves (operator configuration: a pull-through proxy, a test registry). */
  hosts?: readonly string[] | undefined;
  /** Only these registries (HOST or `*.suffix`) get tokens (`registries:` of the block). */
  registries?: readonly string[] | undefined;
  /** Per HTTP call; default 5 s. */
  timeoutMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  now?: () => number;
  /** The role remedies tell to grant; default roles/artifactregistry.reader (Cloud KMS: roles/cloudkms.viewer). */
  role?: string | undefined;
}

const REMEDY_METADATA = (role: string): string =>
  "on GKE, enable Workload Identity on the cluster and node pool, annotate imagegate's ServiceAccount " +
  'with iam.gke.io/gcp-service-account (chart value cloudIdentity.gcp.serviceAccount), allow it ' +
  'roles/iam.workloadIdentityUser on that Google service account, and grant the service account ' +
  `${role}; off Google Cloud, set GOOGLE_APPLICATION_CREDENTIALS (docs/cloud.md#gcp)`;
const REMEDY_EXTERNAL = (role: string): string =>
  'check the credential configuration file (gcloud iam workload-identity-pools create-cred-config): ' +
  'the pool provider must trust the token issuer and audience, and the principal (or the impersonated ' +
  `service account, with roles/iam.workloadIdentityUser for the principal) needs ${role} (docs/cloud.md#gcp)`;
const REMEDY_KEY = (role: string): string =>
  'check that the key in GOOGLE_APPLICATION_CREDENTIALS is current (not deleted or disabled) and that ' +
  `its service account has ${role} (docs/cloud.md#gcp)`;

/** Who a credentials file names and its type, read once at start-up for messages and cache keys. */
function readFileIdentity(file: string): { identity: string; type?: GoogleCredentials['type'] } {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8').slice(0, 65_536)) as GoogleCredentials;
    const who = typeof json === 'object' && json !== null ? googleIdentity(json) : undefined;
    if (typeof who === 'string') return { identity: `${who} (${json.type} in ${file})`, type: json.type };
  } catch {
    /* the fetch reports what is wrong with the file */
  }
  return { identity: `GOOGLE_APPLICATION_CREDENTIALS ${file}` };
}

export class GoogleTokenSource implements CloudTokenSource {
  readonly name = 'gcp';
  readonly #options: GoogleSourceOptions;
  readonly #identity: string;
  readonly #shared: SharedToken;
  readonly #timeoutMs: number;
  #dispatcher: Dispatcher | undefined;
  #method: 'metadata' | GoogleCredentials['type'] | undefined;

  constructor(options: GoogleSourceOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#dispatcher = options.dispatcher;
    const file = options.credentialsFile;
    const fromFile = file !== undefined ? readFileIdentity(file) : undefined;
    this.#method = file === undefined ? 'metadata' : fromFile?.type;
    this.#identity =
      fromFile?.identity ?? `the default service account of the metadata server ${this.#metadataHost()}`;
    const now = options.now ?? Date.now;
    this.#shared = new SharedToken((signal) => this.#accessToken(signal, now()), this.#timeoutMs * 3, now);
  }

  matches(registry: string): boolean {
    const registries = this.#options.registries;
    if (registries !== undefined && !isRegistryAllowed(registries, registry)) return false;
    return isGoogleRegistry(registry) || this.#extraHost(registry);
  }

  #extraHost(registry: string): boolean {
    const hosts = this.#options.hosts;
    return hosts !== undefined && hosts.length > 0 && isRegistryAllowed(hosts, registry);
  }

  identity(): string {
    return this.#identity;
  }

  /** The identity's access token (scope cloud-platform), shared by every registry; Cloud KMS takes it too. */
  accessToken(signal: AbortSignal): Promise<AccessToken> {
    return this.#shared.get(signal);
  }

  async fetch(_registry: string, signal: AbortSignal): Promise<CloudToken> {
    const t = await this.#shared.get(signal);
    return {
      credential: { kind: 'basic', username: 'oauth2accesstoken', password: t.token },
      expiresAt: t.expiresAtMs,
    };
  }

  remedy(error: unknown): string {
    const why = errorMessage(error);
    const role = this.#options.role ?? 'roles/artifactregistry.reader';
    if (this.#method === 'metadata')
      return /ENOTFOUND|EAI_AGAIN|ECONNREFUSED/.test(why)
        ? `the metadata server ${this.#metadataHost()} is not reachable: ${REMEDY_METADATA(role)}`
        : REMEDY_METADATA(role);
    if (this.#method === 'service_account') return REMEDY_KEY(role);
    if (this.#method === 'external_account') return REMEDY_EXTERNAL(role);
    return 'GOOGLE_APPLICATION_CREDENTIALS must name a readable external_account or service_account JSON file (docs/cloud.md#gcp)';
  }

  #metadataHost(): string {
    return this.#options.metadataHost ?? DEFAULT_METADATA_HOST;
  }

  #http(signal: AbortSignal): CloudHttp {
    // connections for token calls only, never shared with registries: a metadata server is link-local
    this.#dispatcher ??= new Agent({ connections: 4, connect: { timeout: this.#timeoutMs } });
    return { dispatcher: this.#dispatcher, signal, timeoutMs: this.#timeoutMs };
  }

  async #accessToken(signal: AbortSignal, now: number): Promise<AccessToken> {
    const http = this.#http(signal);
    const file = this.#options.credentialsFile;
    if (file === undefined) return metadataToken(http, this.#metadataHost(), now);
    // read on every fetch: a mounted key or configuration may be replaced while imagegate runs
    const creds = await loadGoogleCredentials(file);
    this.#method = creds.type;
    return creds.type === 'service_account'
      ? serviceAccountToken(http, creds, now)
      : externalAccountToken(http, creds, now);
  }
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/**
 * The `cloud.gcp` block with the process environment. Enabled by default only when the environment
 * names a Google identity (GOOGLE_APPLICATION_CREDENTIALS or GCE_METADATA_HOST): elsewhere a
 * metadata server that is not there would turn every public gcr.io pull into CREDENTIALS_UNAVAILABLE.
 * On GKE set `enabled: true` (the chart's cloud.gcp values do).
 */
export function googleSourceFrom(
  block: GcpCloudConfig | undefined,
  env: CloudEnv,
): GoogleTokenSource | undefined {
  const credentialsFile = block?.credentialsFile ?? nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS);
  const metadataHost = block?.metadataHost ?? nonEmpty(env.GCE_METADATA_HOST);
  const enabled = block?.enabled ?? (credentialsFile !== undefined || metadataHost !== undefined);
  if (!enabled) return undefined;
  return new GoogleTokenSource({
    credentialsFile,
    metadataHost,
    hosts: block?.hosts,
    registries: block?.registries,
  });
}
