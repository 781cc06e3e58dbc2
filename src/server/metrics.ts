/** Prometheus metrics, one registry per app (tests build several apps in one process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ReviewTally } from './review-tally.js';

export interface Metrics {
  registry: Registry;
  reviews: Counter<'decision' | 'operation'>;
  policyDecisions: Counter<'policy' | 'result' | 'mode'>;
  checkDuration: Histogram<'check'>;
  reviewDuration: Histogram<'decision'>;
  /** Where a review's reviews/policyDecisions/reviewDuration updates go (review-tally.ts). */
  reviewTally: ReviewTally;
  registryRequests: Counter<'registry' | 'status'>;
  badRequests: Counter<'code'>;
  policiesLoaded: Gauge<'source'>;
  policyErrors: Gauge<'source'>;
  policiesRejected: Gauge<'source'>;
  auditLastRun: Gauge;
  auditDuration: Gauge;
  auditResults: Gauge<'result'>;
  cloudTokenFetches: Counter<'provider'>;
  cloudTokenFailures: Counter<'provider'>;
  cloudTokenAge: Gauge<'provider'>;
  /** Where the token-age gauge reads from at each scrape (the cloud providers' status). */
  watchCloudTokens(status: () => ReadonlyArray<CloudTokenAge>): void;
  /** `key.kms` public-key fetches by key service (`awskms`, `gcpkms`, `azurekms`, `hashivault`). */
  kmsKeyFetches: Counter<'provider'>;
  kmsKeyFailures: Counter<'provider'>;
  /** Answers from the last good keys while the service fails. */
  kmsKeyStale: Counter<'provider'>;
  kmsKeyAge: Gauge<'provider'>;
  /** Where the key-age gauge reads from at each scrape (the key reader's status). */
  watchKmsKeys(status: () => ReadonlyArray<KmsKeyAge>): void;
  exemptions: Counter<'policy' | 'exception'>;
  /** Where the exception gauges read from at each scrape (serve sets it). */
  exceptionCounts: { source?: () => Record<'Active' | 'Expired' | 'Invalid' | 'expiringSoon', number> };
}

/** What the token-age gauge needs of a cloud provider's status (registry's CloudProviderStatus fits). */
export interface CloudTokenAge {
  provider: string;
  oldestTokenAgeSeconds: number | undefined;
}

/** What the key-age gauge needs of a key service (the KMS reader's KmsServiceStatus fits). */
export interface KmsKeyAge {
  service: string;
  oldestKeyAgeSeconds: number;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? false) collectDefaultMetrics({ register: registry, prefix: 'imagegate_' });
  const registers = [registry];
  let cloudStatus: () => ReadonlyArray<CloudTokenAge> = () => [];
  let kmsStatus: () => ReadonlyArray<KmsKeyAge> = () => [];
  const exceptionCounts: Metrics['exceptionCounts'] = {};
  exceptionGauges(exceptionCounts, registers);
  // counted per review in the tally, handed over whenever prom-client collects any of the three
  const collect = (): void => tally.flush();
  const reviews = new Counter({
    name: 'imagegate_reviews_total',
    help: 'Admission reviews answered, by decision and operation.',
    labelNames: ['decision', 'operation'],
    registers,
    collect,
  });
  const policyDecisions = new Counter({
    name: 'imagegate_policy_decisions_total',
    help: 'Per-image policy results (pass, fail, error-allowed, exempted) by policy and effective mode.',
    labelNames: ['policy', 'result', 'mode'],
    registers,
    collect,
  });
  const reviewDuration = new Histogram({
    name: 'imagegate_review_duration_seconds',
    help: 'Time to answer an admission review.',
    labelNames: ['decision'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
    collect,
  });
  const tally = new ReviewTally(reviews, policyDecisions, reviewDuration);
  return {
    registry,
    reviews,
    policyDecisions,
    reviewTally: tally,
    checkDuration: new Histogram({
      name: 'imagegate_check_duration_seconds',
      help: 'Duration of each check run (signature, size, base, ...); a reused finding is not a run.',
      labelNames: ['check'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    reviewDuration,
    registryRequests: new Counter({
      name: 'imagegate_registry_requests_total',
      help: 'HTTP requests to OCI registries, by registry host and status (HTTP code or error).',
      labelNames: ['registry', 'status'],
      registers,
    }),
    badRequests: new Counter({
      name: 'imagegate_bad_requests_total',
      help: 'Requests answered with a 4xx, by error code.',
      labelNames: ['code'],
      registers,
    }),
    policiesLoaded: new Gauge({
      name: 'imagegate_policies_loaded',
      help: 'ImagePolicies in force, by source.',
      labelNames: ['source'],
      registers,
    }),
    policyErrors: new Gauge({
      name: 'imagegate_policy_errors',
      help: '1 when the latest policy set from a source was rejected (the last good set stays in force).',
      labelNames: ['source'],
      registers,
    }),
    policiesRejected: new Gauge({
      name: 'imagegate_policies_rejected',
      help: 'ImagePolicy resources currently rejected as invalid (their last good version, if any, stays).',
      labelNames: ['source'],
      registers,
    }),
    auditLastRun: new Gauge({
      name: 'imagegate_audit_last_run_timestamp_seconds',
      help: 'When the last successful background audit run finished (Unix time).',
      registers,
    }),
    auditDuration: new Gauge({
      name: 'imagegate_audit_duration_seconds',
      help: 'How long the last successful background audit run took.',
      registers,
    }),
    auditResults: new Gauge({
      name: 'imagegate_audit_results',
      help: 'Workloads by outcome (pass, fail, warn, error) in the last background audit run.',
      labelNames: ['result'],
      registers,
    }),
    cloudTokenFetches: new Counter({
      name: 'imagegate_cloud_token_fetches_total',
      help: 'Token fetches from a cloud identity, failed ones included: registries (aws-ecr, gcp, azure-acr) and key services (gcp-kms, azure-keyvault).',
      labelNames: ['provider'],
      registers,
    }),
    cloudTokenFailures: new Counter({
      name: 'imagegate_cloud_token_failures_total',
      help: 'Token fetches from a cloud identity that failed (registries and key services).',
      labelNames: ['provider'],
      registers,
    }),
    cloudTokenAge: new Gauge({
      name: 'imagegate_cloud_token_age_seconds',
      help: 'Age of the oldest cloud token in use (registries and key services), by provider (absent: none held).',
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset();
        for (const s of cloudStatus())
          if (s.oldestTokenAgeSeconds !== undefined)
            this.set({ provider: s.provider }, s.oldestTokenAgeSeconds);
      },
    }),
    watchCloudTokens(status) {
      cloudStatus = status;
    },
    kmsKeyFetches: new Counter({
      name: 'imagegate_kms_key_fetches_total',
      help: 'Public-key fetches from a key service (key.kms), failed ones included, by provider: the key service (awskms, gcpkms, azurekms, hashivault).',
      labelNames: ['provider'],
      registers,
    }),
    kmsKeyFailures: new Counter({
      name: 'imagegate_kms_key_failures_total',
      help: 'Public-key fetches from a key service that failed.',
      labelNames: ['provider'],
      registers,
    }),
    kmsKeyStale: new Counter({
      name: 'imagegate_kms_key_stale_served_total',
      help: 'Answers from the last good keys of a key service while it fails (an outage).',
      labelNames: ['provider'],
      registers,
    }),
    kmsKeyAge: new Gauge({
      name: 'imagegate_kms_key_age_seconds',
      help: 'Age of the oldest key-service answer in use, by provider (refreshed hourly: past 3600, served stale; absent: none held).',
      labelNames: ['provider'],
      registers,
      collect() {
        this.reset();
        for (const s of kmsStatus()) this.set({ provider: s.service }, s.oldestKeyAgeSeconds);
      },
    }),
    watchKmsKeys(status) {
      kmsStatus = status;
    },
    exemptions: new Counter({
      name: 'imagegate_exemptions_total',
      help: 'Per-image policy failures let through by an ImagePolicyException (namespace/name), by policy.',
      labelNames: ['policy', 'exception'],
      registers,
    }),
    exceptionCounts,
  };
}

/** The exception gauges, read at each scrape: a phase changes with the clock, not with an event. */
function exceptionGauges(counts: Metrics['exceptionCounts'], registers: Registry[]): void {
  new Gauge({
    name: 'imagegate_exceptions',
    help: 'ImagePolicyExceptions loaded, by phase (Active, Expired, Invalid).',
    labelNames: ['phase'],
    registers,
    collect() {
      const now = counts.source?.();
      for (const phase of ['Active', 'Expired', 'Invalid'] as const) this.set({ phase }, now?.[phase] ?? 0);
    },
  });
  new Gauge({
    name: 'imagegate_exceptions_expiring_soon',
    help: 'Active ImagePolicyExceptions that expire within 7 days.',
    registers,
    collect() {
      this.set(counts.source?.().expiringSoon ?? 0);
    },
  });
}
