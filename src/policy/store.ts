/**
 * The policies in force. Each source (files, the cluster's ImagePolicy resources, the built-in
 * default) is replaced as a whole; an invalid update keeps that source's last good set.
 */
import { errorMessage } from '../errors.js';
import { compilePolicies, type CheckCompilers, type CompiledPolicy } from './compile.js';
import type { ImagePolicyDocument, NamespacedImagePolicyDocument } from './policy.schema.js';
import { compileTenantPolicy } from './tenant.js';

export interface SourceState {
  loaded: boolean;
  count: number;
  error?: string;
}

export class PolicyStore {
  private readonly sets = new Map<string, CompiledPolicy[]>();
  private readonly states = new Map<string, SourceState>();
  private current: readonly CompiledPolicy[] = [];

  constructor(
    private readonly compilers: CheckCompilers,
    /** Sources that must load once before the server is ready. */
    private readonly required: readonly string[],
    private readonly onChange?: (source: string, state: SourceState) => void,
  ) {
    for (const s of required) this.states.set(s, { loaded: false, count: 0 });
  }

  /** Compiles and installs a source's documents; on error keeps the previous set and rethrows. */
  replace(
    source: string,
    docs: readonly ImagePolicyDocument[],
    tenants: readonly NamespacedImagePolicyDocument[] = [],
  ): CompiledPolicy[] {
    const previous = this.states.get(source);
    try {
      return this.install(source, [
        ...compilePolicies(docs, this.compilers),
        ...tenants.map((t) => compileTenantPolicy(t, this.compilers)),
      ]);
    } catch (err) {
      const state: SourceState = {
        loaded: previous?.loaded ?? false,
        count: previous?.count ?? 0,
        error: errorMessage(err),
      };
      this.states.set(source, state);
      this.onChange?.(source, state);
      throw err;
    }
  }

  /** Installs a source's policies compiled by the caller (cluster policies compile one by one). */
  install(source: string, compiled: CompiledPolicy[]): CompiledPolicy[] {
    this.sets.set(source, compiled);
    this.recompute();
    const state: SourceState = { loaded: true, count: compiled.length };
    this.states.set(source, state);
    this.onChange?.(source, state);
    return compiled;
  }

  /** Records a failure to read a source without touching its policies. */
  fail(source: string, error: string): void {
    const previous = this.states.get(source) ?? { loaded: false, count: 0 };
    const state = { ...previous, error };
    this.states.set(source, state);
    this.onChange?.(source, state);
  }

  private recompute(): void {
    // Sorted by source for a stable order. The same name from two sources: both apply (an image
    // must satisfy every policy that matches it).
    this.current = [...this.sets.entries()].sort(([a], [b]) => a.localeCompare(b)).flatMap(([, set]) => set);
  }

  policies(): readonly CompiledPolicy[] {
    return this.current;
  }

  /** The source documents of the policies in force. */
  documents(): ImagePolicyDocument[] {
    return this.current.map((p) => p.document);
  }

  /** Ready when every required source has loaded at least once. */
  readiness(): { ready: boolean; reason?: string } {
    for (const s of this.required) {
      const st = this.states.get(s);
      if (st === undefined || !st.loaded) {
        return {
          ready: false,
          reason: `policies from ${s} not loaded yet${st?.error !== undefined ? `: ${st.error}` : ''}`,
        };
      }
    }
    return { ready: true };
  }

  state(): Record<string, SourceState> {
    return Object.fromEntries(this.states);
  }
}
