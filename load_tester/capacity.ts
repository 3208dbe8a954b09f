/**
 * Capacity search: open-loop steps (doubling, then bisecting) to find the highest rate that
 * holds a latency objective with zero errors.
 *
 * @module
 */

import { formatMicros } from "@monkey/shared";
import type { Scenario, Slo } from "./config.ts";
import type { CapacityStepSummary, ScenarioResult } from "./result.ts";

/** One step of the search, with its full result. */
export interface CapacityStep extends CapacityStepSummary {
  /** The full result of the step. */
  result: ScenarioResult;
}

/** The search's outcome. */
export interface CapacityResult {
  /** The objective, e.g. `p99<2ms`. */
  slo: string;
  /** Highest rate that held, or 0 when none did. */
  capacity_rps: number;
  /** Every step in order. */
  steps: CapacityStep[];
}

/** Options for {@linkcode findCapacity}. */
export interface CapacityOptions {
  /** The objective every step must hold (with zero errors). */
  slo: Slo;
  /** First rate tried. @default 1000 */
  startRate?: number;
  /** Stop bisecting when the gap is below this fraction of the rate. @default 0.05 */
  precision?: number;
  /** Most steps (runs, retries included). @default 24 */
  maxSteps?: number;
  /**
   * Runs of a rate before it counts as failed: a failed step is run again, up to this many
   * times in all, and holds if any run holds (a GC pause or a neighbour's burst fails one run,
   * not the rate). The capacity found is confirmed the same way before it is reported.
   * @default 2
   */
  attempts?: number;
  /** Highest rate tried. @default 10_000_000 */
  maxRate?: number;
  /** Stop early. */
  signal?: AbortSignal;
  /** Called after each step. */
  onStep?: (step: CapacityStep) => void;
}

/** A step must achieve this fraction of the rate asked for to count as held. */
const ACHIEVED_FRACTION = 0.95;

/**
 * Judge one open-loop result against the objective.
 *
 * @param result The step's result.
 * @param rate The rate asked for.
 * @param slo The objective.
 * @returns The step.
 */
export function judgeStep(result: ScenarioResult, rate: number, slo: Slo): CapacityStep {
  const latency = result.latency_us[slo.key];
  const errors = result.errors.total;
  let reason = "";
  if (errors > 0) reason = `${errors} errors`;
  else if (latency >= slo.limitUs) reason = `${slo.key} ${formatMicros(latency)}`;
  else if (result.rps < rate * ACHIEVED_FRACTION) reason = `only ${Math.round(result.rps)} req/s`;
  return { rate, rps: result.rps, latency_us: latency, errors, ok: reason === "", reason, result };
}

/**
 * Search the highest open-loop rate meeting the objective: double from `startRate` until a
 * rate fails (or halve until one holds), then bisect to within `precision`. A failed step is
 * repeated (`attempts`) and the capacity found is confirmed by one more run, so one noisy run
 * neither stops the search early nor sets the result.
 *
 * @param scenario Connections, size, duration and warmup of every step (its rate is ignored).
 * @param runStep Runs the scenario at a rate.
 * @param options The objective, start rate, precision, step limit.
 * @returns The highest rate that held and the steps.
 * @example
 * ```ts
 * const capacity = await findCapacity(scenario, (s) => runScenario(s, { target }), {
 *   slo: parseSlo("p99<2ms"),
 * });
 * console.log(formatCapacity(capacity));
 * ```
 */
export async function findCapacity(
  scenario: Scenario,
  runStep: (scenario: Scenario) => Promise<ScenarioResult>,
  options: CapacityOptions,
): Promise<CapacityResult> {
  const slo = options.slo;
  const precision = options.precision ?? 0.05;
  const maxSteps = options.maxSteps ?? 24;
  const maxRate = options.maxRate ?? 10_000_000;
  const attempts = options.attempts ?? 2;
  const held: number[] = [];
  let good: number | undefined;
  let bad: number | undefined;
  const steps: CapacityStep[] = [];
  const stopped = () => steps.length >= maxSteps || (options.signal?.aborted ?? false);
  /** Run a rate up to `attempts` times; it holds when one run holds. */
  const holds = async (rate: number): Promise<boolean | undefined> => {
    for (let i = 0; i < attempts; i++) {
      if (stopped()) return undefined;
      const result = await runStep({ ...scenario, rate, name: `${scenario.name}@${rate}` });
      const step = judgeStep(result, rate, slo);
      steps.push(step);
      options.onStep?.(step);
      if (step.ok) return true;
    }
    return false;
  };
  const narrowed = () => good !== undefined && bad !== undefined && (bad - good) / bad <= precision;
  let rate = options.startRate ?? 1000;
  for (;;) {
    const ok = await holds(rate);
    if (ok === undefined) break;
    if (ok) {
      good = rate;
      held.push(rate);
    } else bad = rate;
    if (narrowed()) {
      // Confirm the capacity once more: a lucky run must not set it. When it fails, the bracket
      // moves down to the highest rate below it that held, and the search goes on.
      const confirmed = await holds(good!);
      if (confirmed === undefined || confirmed) break;
      bad = good;
      held.splice(held.indexOf(good!), 1);
      good = Math.max(0, ...held.filter((r) => r < bad!)) || undefined;
    }
    let next: number;
    if (bad === undefined) next = Math.min(rate * 2, maxRate);
    else if (good === undefined) next = Math.floor(bad / 2);
    else next = Math.round((good + bad) / 2);
    if (next < 1 || (bad === undefined && rate >= maxRate)) break;
    if (next === rate && good !== undefined) break;
    rate = next;
  }
  return { slo: slo.text, capacity_rps: good ?? 0, steps };
}

/**
 * The steps as a table.
 *
 * @param capacity The search's outcome.
 * @returns Aligned text.
 */
export function formatCapacity(capacity: CapacityResult): string {
  const lines = [
    `Capacity search, SLO ${capacity.slo} with zero errors:`,
    "  step  rate/s      achieved/s  latency     errors  result",
  ];
  capacity.steps.forEach((s, i) => {
    lines.push(
      `  ${String(i + 1).padStart(4)}  ${String(s.rate).padEnd(10)}  ${
        String(Math.round(s.rps)).padEnd(10)
      }  ${formatMicros(s.latency_us).padEnd(10)}  ${String(s.errors).padEnd(6)}  ${
        s.ok ? "held" : `failed: ${s.reason}`
      }`,
    );
  });
  lines.push(
    capacity.capacity_rps > 0
      ? `Capacity: ${capacity.capacity_rps} req/s`
      : "Capacity: no tested rate held the SLO",
  );
  return lines.join("\n");
}
