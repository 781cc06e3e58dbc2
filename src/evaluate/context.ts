/** What an evaluation runs with: the review's context and the engine's settings (evaluate.ts). */
import type { CheckName } from '../checks/kinds.js';
import type { ImageReference } from '../registry/reference.js';
import type { RegistryAccess } from '../registry/types.js';
import type { EvaluationSettings } from './decision.js';
import type { ExceptionScope } from './exempt.js';
import type { ImageNames } from './image-names.js';
import type { OutcomeReuse } from './reused-outcomes.js';

export interface EvaluationContext {
  namespace: string;
  namespaceLabels?: Record<string, string>;
  signal: AbortSignal;
  registry?: RegistryAccess;
  /** Reference parser; the CLI adds `oci:PATH` layouts. The webhook never reads local files. */
  parse?: (image: string) => ImageReference;
  /** Called with each check's duration, for metrics. */
  onCheck?: (check: CheckName, policy: string, seconds: number, passed: boolean) => void;
  /** ImagePolicyExceptions to apply (evaluate/exempt.ts); absent: none. */
  exceptions?: ExceptionScope;
}

/**
 * What an engine evaluates with: the decision's settings, the engine's own reused outcomes
 * (reused-outcomes.ts; absent: every check runs) and its memo of image names (image-names.ts;
 * absent: each name parsed each time). Made with the engine (cli/setup.ts), so two engines in one
 * process share none.
 */
export interface EngineSettings extends EvaluationSettings {
  reuse?: OutcomeReuse;
  names?: ImageNames;
}
