/** Public API of the registry module. */
export * from './types.js';
export * from './reference.js';
export { createRegistry, type AccessOptions, type Registry, type RegistryHooks } from './client.js';
export {
  loadRegistryConfig,
  registryOptionsFrom,
  mergeRegistryFlags,
  isRegistryAllowed,
  type RegistryOptions,
  type RegistryEndpointOptions,
} from './options.js';
export * from './credentials/index.js';
export { openImage, type OpenedImage } from './open.js';
export { createLayoutAccess, isLayoutReference, parseLayoutReference, LAYOUT_REGISTRY } from './layout.js';
export { DEFAULT_PLATFORMS, formatPlatform, isAttestation } from './resolve.js';
export { computeDigest } from './digest.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export * from './media-types.js';
