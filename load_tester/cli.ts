/**
 * The `deno task load-test` program as a function: config, run (or `merge`), report, exit code.
 *
 * @module
 */

import { ConfigError, ConnectError, helpText, Logger, ServiceError } from "@monkey/shared";
import { clientEngineNote } from "./client_tls.ts";
import { compareWithBaseline, readReport, regressions } from "./baseline.ts";
import { findCapacity, formatCapacity } from "./capacity.ts";
import { LOAD_TEST_SCHEMA, loadTestConfig } from "./config.ts";
import { LiveMetrics } from "./live_metrics.ts";
import { Progress } from "./progress.ts";
import { formatReport, notEchoHint } from "./report.ts";
import { reportHtml } from "./report_html.ts";
import { SeriesRecorder } from "./series.ts";
import { machineInfo, type RunReport, TOOL_VERSION } from "./result.ts";
import { allFailed, runMatrix, runScenario } from "./runner.ts";
import { parseShard, type Shard } from "./shard.ts";
import { mergeShards } from "./shard_merge.ts";
import { runShard } from "./sharded_run.ts";
import { parseStartAt } from "./start_at.ts";

/** Options for {@linkcode loadTestCli}. */
export interface LoadTestCliOptions {
  /** Config file read when `--config` is not given. @default "load_test.toml" */
  defaultConfigPath?: string;
  /** Where the report goes. @default stdout */
  stdout?: (text: string) => void;
  /** Where notices go. @default stderr */
  stderr?: (text: string) => void;
  /** Aborting (Ctrl+C) stops the run early; the partial report is still printed. */
  signal?: AbortSignal;
}

const USAGE = `deno task load-test [flags]
       deno task load-test merge a.json b.json ... [--format F] [--out FILE]

Runs the [[scenarios]] of load_test.toml (matrix mode), or one scenario from flags when
-c, -d, -s, --mode or --rate are given without --config or --scenario.
--find-capacity searches the highest open-loop rate holding --slo with zero errors.
merge adds the JSON results of several machines exactly (histograms added, rates summed).
--shard I/N runs shard I (0..N-1) of N of every scenario (auto/N: I = JOB_COMPLETION_INDEX);
--start-at TIME waits for that instant (ISO 8601 or +30s) so all shards measure together.`;

const DEFAULT_START_RATE = 1000;

/**
 * Run the load tester CLI.
 *
 * @param args Command-line arguments.
 * @param options Output functions, default config path, abort signal.
 * @returns The exit code: 0, or 1 when every request of a scenario failed or a regression
 *   exceeded `--fail-on-regression`.
 * @throws {ConfigError} On bad config or flags (exit 2).
 * @throws {ServiceError} When the target cannot be reached or a file cannot be written (exit 1).
 */
export async function loadTestCli(
  args: readonly string[],
  options: LoadTestCliOptions = {},
): Promise<number> {
  const encoder = new TextEncoder();
  const stdout = options.stdout ?? ((t: string) => Deno.stdout.writeSync(encoder.encode(t)));
  const stderr = options.stderr ?? ((t: string) => Deno.stderr.writeSync(encoder.encode(t)));
  const resolved = loadTestConfig(args, {
    ...(options.defaultConfigPath !== undefined
      ? { defaultConfigPath: options.defaultConfigPath }
      : {}),
  });
  const { config } = resolved;
  if (resolved.help) {
    stdout(helpText(USAGE, LOAD_TEST_SCHEMA) + "\n");
    return 0;
  }
  const [command, ...files] = resolved.positionals;
  if (command !== undefined && command !== "merge") {
    throw new ConfigError(
      `Cannot parse command line: unknown command '${command}' (expected 'merge' or flags)`,
    );
  }
  if (command === "merge" && files.length === 0) {
    throw new ConfigError("Cannot parse command line: merge needs one or more result files");
  }
  const shard: Shard | undefined = config.shard !== undefined && command !== "merge"
    ? parseShard(config.shard)
    : undefined;
  const startAt = config.start_at !== undefined && command !== "merge"
    ? parseStartAt(config.start_at)
    : undefined;
  if ((shard || startAt !== undefined) && config.find_capacity) {
    throw new ConfigError(
      "Cannot parse flag --find-capacity: it does not combine with --shard or --start-at, got both",
    );
  }
  const baseline = config.baseline !== undefined ? await readInput(config.baseline) : undefined;

  let report: RunReport;
  let capacityText: string | undefined;
  let exitCode = 0;
  if (command === "merge") {
    const inputs = await Promise.all(files.map(readInput));
    refuseDuplicates(files, inputs);
    const merged = mergeShards(files, inputs);
    report = merged.report;
    for (const warning of merged.warnings) stderr(`merge: ${warning}\n`);
    const sloGiven = args.some((a) => a === "--slo" || a.startsWith("--slo="));
    for (const scenario of sloGiven ? report.scenarios : []) {
      const value = scenario.latency_us[resolved.slo.key];
      const held = value < resolved.slo.limitUs;
      stderr(
        `slo ${resolved.slo.text}: ${scenario.name} ${held ? "held" : "missed"} ` +
          `(${resolved.slo.key} ${value}µs, merged)\n`,
      );
      if (!held) exitCode = 1;
    }
  } else {
    const count = resolved.scenarios.length;
    const source = resolved.matrix ? resolved.configPath : "flags";
    const part = shard ? `, shard ${shard.index}/${shard.count} (0-based)` : "";
    stderr(
      `load test: ${count} scenario${count === 1 ? "" : "s"} from ${source} against ` +
        `${resolved.target}${part} (engine: ${
          clientEngineNote(config.engine, resolved.tls !== undefined)
        })
`,
    );
    const live = config.metrics_addr !== "off" ? new LiveMetrics() : undefined;
    const endpoint = live?.serve(config.metrics_addr, new Logger({ name: "load-test" }));
    if (endpoint) stderr(`metrics on http://${endpoint.addr}/metrics\n`);
    const progress = config.progress ? new Progress({ write: stderr }) : undefined;
    const series = new SeriesRecorder();
    const runOptions = {
      target: resolved.target,
      workers: config.workers,
      timeout_secs: config.timeout_secs,
      engine: config.engine,
      tls: resolved.tls,
      ...(options.signal ? { signal: options.signal } : {}),
      onStart: (
        _: unknown,
        status: Parameters<LiveMetrics["start"]>[0],
        histogram: Parameters<SeriesRecorder["start"]>[1],
      ) => {
        progress?.start(status);
        series.start(status, histogram);
        live?.start(status, () => series.samples);
      },
      onEnd: (_: unknown, result: Parameters<LiveMetrics["end"]>[0]) => {
        result.series = series.stop();
        progress?.stop(result);
        live?.end(result);
      },
    };
    try {
      if (config.find_capacity) {
        report = {
          target: resolved.target,
          started_at: new Date().toISOString(),
          tool_version: TOOL_VERSION,
          machine: machineInfo(),
          scenarios: [],
        };
        const parts: string[] = [];
        for (const scenario of resolved.scenarios) {
          const capacity = await findCapacity(
            scenario,
            (step) => runScenario(step, runOptions),
            {
              slo: resolved.slo,
              startRate: scenario.rate > 0 ? scenario.rate : DEFAULT_START_RATE,
              ...(options.signal ? { signal: options.signal } : {}),
              onStep: (step) => stderr(`${step.result.name}: ${step.ok ? "held" : step.reason}\n`),
            },
          );
          report.scenarios.push(...capacity.steps.map((s) => s.result));
          report.capacity ??= [];
          report.capacity.push({
            scenario: scenario.name,
            slo: capacity.slo,
            capacity_rps: capacity.capacity_rps,
            steps: capacity.steps.map(({ result: _r, ...rest }) => rest),
          });
          parts.push(`${scenario.name}: ${formatCapacity(capacity)}`);
        }
        capacityText = parts.join("\n\n");
      } else if (shard || startAt !== undefined) {
        report = await runShard(resolved.scenarios, runOptions, {
          ...(shard ? { shard } : {}),
          ...(startAt !== undefined ? { startAt } : {}),
          notice: (line) => stderr(`${line}\n`),
          countdown: (left) => {
            if (config.progress) stderr(`\rstarting in ${left}s `);
          },
        });
        if (config.progress && startAt !== undefined) stderr("\n");
      } else {
        report = await runMatrix(resolved.scenarios, runOptions);
      }
    } catch (error) {
      if (error instanceof ConnectError) throw new ServiceError(error.message);
      throw error;
    } finally {
      progress?.stop();
      series.stop();
      await endpoint?.shutdown();
    }
    // Ctrl+C: the partial report, exit 0 (a scenario cut short may have completed nothing).
    if (report.scenarios.some(allFailed) && !options.signal?.aborted) exitCode = 1;
  }

  const rows = baseline ? compareWithBaseline(report.scenarios, baseline) : undefined;
  let text = formatReport(report, config.format, {
    matrix: resolved.matrix || command === "merge",
    ...(rows ? { baseline: rows } : {}),
  });
  if (capacityText !== undefined && config.format === "table") text += `\n${capacityText}\n`;
  if (config.out !== undefined) {
    await writeReport(config.out, text);
    stderr(`wrote ${config.format} report to ${config.out}\n`);
  } else {
    stdout(text);
  }
  if (config.report !== undefined) {
    await writeReport(config.report, reportHtml(report, baseline ? { baseline } : {}));
    stderr(`wrote HTML report to ${config.report}\n`);
  }
  if (options.signal?.aborted) stderr("stopped early: partial results\n");
  for (const failed of options.signal?.aborted ? [] : report.scenarios.filter(allFailed)) {
    stderr(
      `scenario ${failed.name}: ${
        failed.errors.total > 0
          ? `every request failed (${failed.errors.total} errors)`
          : `no request completed (${failed.unfinished ?? 0} unanswered at the end)`
      }\n`,
    );
    const hint = notEchoHint(failed);
    if (hint !== undefined) stderr(`scenario ${failed.name}: ${hint}\n`);
  }
  if (rows && config.fail_on_regression !== undefined) {
    const found = regressions(rows, config.fail_on_regression);
    for (const line of found) stderr(`regression: ${line}\n`);
    if (found.length > 0 && !options.signal?.aborted) exitCode = 1;
  }
  return exitCode;
}

/** The same run given twice (same file, or a copy) would count its requests twice. */
function refuseDuplicates(files: readonly string[], reports: readonly RunReport[]): void {
  const seen = new Map<string, string>();
  reports.forEach((report, i) => {
    const file = files[i]!;
    const key = [
      report.started_at,
      report.target,
      ...report.scenarios.map((s) => `${s.name}:${s.histogram}`),
    ].join("|");
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new ConfigError(
        `Cannot merge ${file}: it is the same run as ${earlier} (same start time, target and ` +
          `histograms); merging it would count its requests twice, got '${file}' twice`,
      );
    }
    seen.set(key, file);
  });
}

async function readInput(path: string): Promise<RunReport> {
  try {
    return await readReport(path);
  } catch (error) {
    if (error instanceof ServiceError) throw new ConfigError(error.message);
    throw error;
  }
}

async function writeReport(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (error) {
    throw new ServiceError(
      `Cannot write report to ${path}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
}
