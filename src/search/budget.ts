import { formatCount, formatDuration } from '../util/units';
import type { SpaceCost } from '../spaces/types';

/** Inference budgets of a search (absent fields: no limit). Params/FLOPs include the classifier. */
export interface Budgets {
  params?: number;
  flops?: number;
  layers?: number;
  /** Latency per mini-batch in ms (needs a latency source). */
  latencyMs?: number;
}

/** Cost of one candidate as the budgets see it: the space's count, plus latency when measured. */
export interface CandidateCost extends SpaceCost {
  latencyMs?: number;
}

/** Which budget a candidate breaks first, or null when it fits all (latency checked separately). */
export function staticBudgetViolation(cost: CandidateCost, b: Budgets): 'params' | 'flops' | 'layers' | null {
  if (b.layers !== undefined && cost.layers > b.layers) return 'layers';
  if (b.params !== undefined && cost.params > b.params) return 'params';
  if (b.flops !== undefined && cost.flops > b.flops) return 'flops';
  return null;
}

/** True when the cost fits every budget (latency only when both are known). */
export function fitsBudgets(cost: CandidateCost, b: Budgets): boolean {
  if (staticBudgetViolation(cost, b)) return false;
  if (b.latencyMs !== undefined && (cost.latencyMs === undefined || cost.latencyMs > b.latencyMs)) return false;
  return true;
}

/** One line describing the budgets, e.g. `params ≤ 1M, layers ≤ 18`. */
export function describeBudgets(b: Budgets): string {
  const parts: string[] = [];
  if (b.params !== undefined) parts.push(`params ≤ ${formatCount(b.params)}`);
  if (b.flops !== undefined) parts.push(`FLOPs ≤ ${formatCount(b.flops)}`);
  if (b.layers !== undefined) parts.push(`layers ≤ ${b.layers}`);
  if (b.latencyMs !== undefined) parts.push(`latency ≤ ${formatDuration(b.latencyMs)}`);
  return parts.length ? parts.join(', ') : 'no budget';
}
