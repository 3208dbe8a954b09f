/**
 * The proxy's optional active check of its target (`[health_check]`, off by default): while
 * the target fails its checks `/health` answers 503 `{"status":"target_down"}`, and the log
 * says when it goes down and when it comes back.
 *
 * @module
 */

import { type CheckOutcome, HealthMonitor, type Logger } from "@monkey/shared";
import type { ProxyConfig } from "./config.ts";

/** What `/health` answers (503) while the target fails its checks. */
export const TARGET_DOWN = "target_down";

/**
 * The `/health` problem of a proxy cluster (`workers` > 1) from its merged snapshot: every
 * worker checks the target, and the merged `target_healthy` is false once all of them see it
 * down (booleans are or-ed, as the `monkey_proxy_target_up` gauge takes the largest value).
 *
 * @param snapshot The cluster's merged JSON snapshot.
 * @returns `target_down`, or undefined while the target is up or not checked.
 * @example
 * ```ts
 * clusterTargetProblem({ target_healthy: false }); // "target_down"
 * ```
 */
export function clusterTargetProblem(snapshot: Record<string, unknown>): string | undefined {
  return snapshot["target_healthy"] === false ? TARGET_DOWN : undefined;
}

/** The target's health as the proxy sees it. */
export interface TargetHealth {
  /** False while the target fails its checks (always true with checks off). */
  readonly healthy: boolean;
  /** Whether active checks run. */
  readonly enabled: boolean;
  /** Stop the checks. */
  stop(): Promise<void>;
}

/**
 * Start checking the proxy's target when `health_check.interval_ms` is above 0.
 *
 * @param config The proxy's configuration (target, health check, PROXY protocol mode).
 * @param logger Where the down / up-again lines go.
 * @returns The target's health.
 * @example
 * ```ts
 * const target = watchTarget(config, logger);
 * target.healthy; // false while the target fails its checks
 * await target.stop();
 * ```
 */
export function watchTarget(
  config: Pick<ProxyConfig, "target_addr" | "health_check" | "proxy_protocol">,
  logger: Logger,
): TargetHealth {
  const settings = config.health_check;
  const describe = (outcome: CheckOutcome) =>
    outcome.ok ? "check passed" : `check failed: ${outcome.result}`;
  const monitor = new HealthMonitor(config.target_addr, settings, {
    proxyProtocol: config.proxy_protocol,
    onTransition(state, outcome) {
      if (state === "down") {
        logger.warn(
          `target ${config.target_addr} is down: ${settings.fall} health checks failed in a row ` +
            `(last ${describe(outcome)}); /health answers 503`,
        );
      } else {
        logger.info(
          `target ${config.target_addr} is up again: ${settings.rise} health checks passed in a row`,
        );
      }
    },
  });
  monitor.start();
  return {
    get healthy() {
      return monitor.healthy;
    },
    enabled: settings.interval_ms > 0,
    stop: () => monitor.stop(),
  };
}
