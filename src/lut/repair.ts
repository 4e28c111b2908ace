/**
 * Repair of an over-budget architecture by the greedy step for the multiple-choice knapsack of
 * HardCoRe-NAS appendix §F (its Remark: "an iterative greedy solver as introduced in (Kellerer et
 * al., 2004)"): every block is a class whose items are its configurations (value p, cost t from
 * the LUT); while the estimate exceeds the budget, apply the single downgrade that loses the least
 * value per millisecond saved — a block to a lighter configuration, or (option `depth`) dropping
 * the last optional block of a stage (the item "absent": cost 0, value 0). Every step saves time,
 * so it ends: feasible, or null when no downgrade is left (even the lightest choices are over).
 */
import { ZennasError } from '../errors';
import { estimateLatency, LutIndex } from './estimate';
import { LutChoices } from './types';

/** What a block is worth to the repair: the value p_{s,j,c} it keeps most of per ms saved. */
export type BlockValue = (stage: number, position: number, config: number) => number;

/** Options of `repairChoices`. */
export interface RepairOptions {
  /** Value of a block configuration (default: its FLOPs from the table: capacity per ms). */
  value?: BlockValue;
  /** May drop a stage's last block above its minimum depth (default true). */
  depth?: boolean;
  /** Largest number of downgrades (default: no limit beyond the finite number available). */
  maxSteps?: number;
  /**
   * The estimate the budget is checked against (default: the table's, Σ entries + fixed). With a
   * fitted correction (./correction-file) each downgrade's saving is measured by this estimate
   * itself, and only downgrades that lower it are taken: it still strictly decreases, so the
   * repair ends, and its result is within the budget by this estimate.
   */
  estimate?: (c: LutChoices) => number;
}

/** One applied downgrade. */
export interface RepairStep {
  stage: number;
  position: number;
  /** Configuration before and after; `to` null: the block was dropped. */
  from: number;
  to: number | null;
  savedMs: number;
  lostValue: number;
}

/** A repaired architecture. */
export interface RepairResult {
  choices: LutChoices;
  /** Its estimate (ms; the `estimate` option's when given), ≤ the budget. */
  ms: number;
  steps: RepairStep[];
}

/** The table's FLOPs of each entry: the default value of the repair. */
export function flopsValue(ix: LutIndex): BlockValue {
  const f = new Map(ix.lut.entries.map((e) => [`${e.stage}/${e.position}/${e.config}`, e.flops]));
  return (s, j, c) => f.get(`${s}/${j}/${c}`) ?? 0;
}

/**
 * The greedy repair of `choices` to an estimate ≤ `budgetMs` (HardCoRe-NAS §F): null when no
 * sequence of downgrades reaches it. The result never exceeds the budget by its estimate; an
 * architecture already within it is returned unchanged (no steps).
 */
export function repairChoices(ix: LutIndex, choices: LutChoices, budgetMs: number, o: RepairOptions = {}): RepairResult | null {
  if (!(typeof budgetMs === 'number' && Number.isFinite(budgetMs) && budgetMs > 0)) throw new ZennasError('E_OPTION', `budget must be a positive number of ms, got ${String(budgetMs)}`);
  const value = o.value ?? flopsValue(ix);
  const allowDepth = o.depth ?? true;
  const cur: LutChoices = { depths: [...choices.depths], configs: choices.configs.map((c) => [...c]) };
  const model = o.estimate;
  let est = estimateLatency(ix, cur).ms; // also checks the architecture
  if (model) est = model(cur);
  // The saving of one downgrade by the model: applied to `cur`, estimated, undone.
  const modelSaving = (s: number, j: number, to: number | null): number => {
    const from = cur.configs[s]![j]!;
    if (to === null) { cur.depths[s]!--; cur.configs[s]!.pop(); } else cur.configs[s]![j] = to;
    const after = model!(cur);
    if (to === null) { cur.depths[s]!++; cur.configs[s]!.push(from); } else cur.configs[s]![j] = from;
    return est - after;
  };
  const steps: RepairStep[] = [];
  const maxSteps = o.maxSteps ?? Infinity;
  while (est > budgetMs) {
    if (steps.length >= maxSteps) return null;
    const pick: { best: RepairStep | null; eff: number } = { best: null, eff: Infinity };
    const consider = (cand: RepairStep) => {
      if (!(cand.savedMs > 0)) return;
      const eff = Math.max(0, cand.lostValue) / cand.savedMs;
      // Least value lost per ms saved; ties: the larger saving, then the earliest block (deterministic).
      if (!pick.best || eff < pick.eff || (eff === pick.eff && cand.savedMs > pick.best.savedMs)) {
        pick.best = cand;
        pick.eff = eff;
      }
    };
    for (let s = 0; s < cur.depths.length; s++) {
      for (let j = 0; j < cur.depths[s]!; j++) {
        const c = cur.configs[s]![j]!;
        const t = ix.t[s]![j]![c]!;
        const v = value(s, j, c);
        for (let k = 0; k < ix.t[s]![j]!.length; k++) {
          const tk = ix.t[s]![j]![k]!;
          if (k === c || Number.isNaN(tk) || !(tk < t)) continue;
          consider({ stage: s, position: j, from: c, to: k, savedMs: model ? modelSaving(s, j, k) : t - tk, lostValue: v - value(s, j, k) });
        }
      }
      const d = cur.depths[s]!;
      if (allowDepth && d > ix.minDepth[s]!) {
        const c = cur.configs[s]![d - 1]!;
        consider({ stage: s, position: d - 1, from: c, to: null, savedMs: model ? modelSaving(s, d - 1, null) : ix.t[s]![d - 1]![c]!, lostValue: value(s, d - 1, c) });
      }
    }
    const step = pick.best;
    if (!step) return null;
    if (step.to === null) {
      cur.depths[step.stage]!--;
      cur.configs[step.stage]!.pop();
    } else {
      cur.configs[step.stage]![step.position] = step.to;
    }
    steps.push(step);
    est = model ? model(cur) : estimateLatency(ix, cur).ms; // recomputed, not decremented: no drift across steps
  }
  return { choices: cur, ms: est, steps };
}
