/** Where tests put blobs and manifests: the in-memory registry or a real one (registry-seeder.ts). */
export interface Seeder {
  putBlob(repo: string, bytes: Buffer): Promise<void>;
  /** Stores raw manifest bytes; returns the digest. */
  putManifest(repo: string, bytes: Buffer, tag?: string): Promise<string>;
}
