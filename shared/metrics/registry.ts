/**
 * Counters, gauges and histograms kept as plain numbers, rendered on demand as Prometheus
 * text exposition (0.0.4).
 *
 * Hot paths do `counter.value += n` (or `inc`); nothing is formatted until a scrape.
 *
 * @module
 */

/** Label names to values. */
export type Labels = Readonly<Record<string, string>>;

/** A monotonically increasing number. */
export class Counter {
  /** Current value; hot paths may add to it directly. */
  value = 0;
  /**
   * Add to the counter.
   *
   * @param n Amount. @default 1
   */
  inc(n = 1): void {
    this.value += n;
  }
}

/** A number that goes up and down. */
export class Gauge {
  /** Current value. */
  value = 0;
  /**
   * Add to the gauge.
   * @param n Amount. @default 1
   */
  inc(n = 1): void {
    this.value += n;
  }
  /**
   * Subtract from the gauge.
   * @param n Amount. @default 1
   */
  dec(n = 1): void {
    this.value -= n;
  }
  /**
   * Set the gauge.
   * @param n New value.
   */
  set(n: number): void {
    this.value = n;
  }
}

/** A cumulative histogram with fixed upper bounds (Prometheus `le` buckets). */
export class Histogram {
  /** Upper bounds, ascending. */
  readonly bounds: readonly number[];
  /** Per-bucket counts (not cumulative); the last slot is `+Inf`. */
  readonly counts: number[];
  /** Sum of observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  /**
   * A histogram with the given buckets.
   *
   * @param bounds Ascending bucket upper bounds.
   */
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /**
   * Record one value.
   * @param value The observation.
   */
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type Kind = "counter" | "gauge" | "histogram";
type Metric = Counter | Gauge | Histogram;

interface Family {
  name: string;
  help: string;
  kind: Kind;
  children: Map<string, { labels: Labels; metric: Metric }>;
  bounds?: readonly number[];
  collect?: () => Iterable<[Labels, number]>;
}

/** Default buckets for connection durations, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
  30,
  60,
  300,
  1800,
];

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * A set of metric families with one Prometheus rendering.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const total = registry.counter("monkey_proxy_connections_total", "Connections accepted");
 * total.inc();
 * console.log(registry.render());
 * ```
 */
export class Registry {
  #families = new Map<string, Family>();

  #family(name: string, help: string, kind: Kind, bounds?: readonly number[]): Family {
    if (!NAME_RE.test(name)) throw new Error(`Invalid metric name '${name}'`);
    let family = this.#families.get(name);
    if (family === undefined) {
      family = { name, help, kind, children: new Map() };
      if (bounds !== undefined) family.bounds = bounds;
      this.#families.set(name, family);
    } else if (family.kind !== kind) {
      throw new Error(`Metric '${name}' already registered as a ${family.kind}`);
    }
    return family;
  }

  #child<M extends Metric>(family: Family, labels: Labels, make: () => M): M {
    const key = labelKey(labels);
    const existing = family.children.get(key);
    if (existing !== undefined) return existing.metric as M;
    const metric = make();
    family.children.set(key, { labels, metric });
    return metric;
  }

  /**
   * Get or create a counter. Counter names should end in `_total`.
   *
   * @param name Metric name.
   * @param help One-line help.
   * @param labels Label values for this child. @default {}
   * @returns The counter.
   */
  counter(name: string, help: string, labels: Labels = {}): Counter {
    return this.#child(this.#family(name, help, "counter"), labels, () => new Counter());
  }

  /**
   * Get or create a gauge.
   *
   * @param name Metric name.
   * @param help One-line help.
   * @param labels Label values for this child. @default {}
   * @returns The gauge.
   */
  gauge(name: string, help: string, labels: Labels = {}): Gauge {
    return this.#child(this.#family(name, help, "gauge"), labels, () => new Gauge());
  }

  /**
   * Get or create a histogram.
   *
   * @param name Metric name (base; `_bucket`, `_sum`, `_count` are added).
   * @param help One-line help.
   * @param bounds Bucket upper bounds. @default DURATION_BUCKETS
   * @param labels Label values. @default {}
   * @returns The histogram.
   */
  histogram(
    name: string,
    help: string,
    bounds: readonly number[] = DURATION_BUCKETS,
    labels: Labels = {},
  ): Histogram {
    return this.#child(
      this.#family(name, help, "histogram", bounds),
      labels,
      () => new Histogram(bounds),
    );
  }

  /**
   * Register a family whose values are computed at scrape time (e.g. bytes of live connections).
   *
   * @param name Metric name.
   * @param help One-line help.
   * @param kind "counter" or "gauge".
   * @param collect Returns `[labels, value]` pairs.
   */
  collect(
    name: string,
    help: string,
    kind: "counter" | "gauge",
    collect: () => Iterable<[Labels, number]>,
  ): void {
    const family = this.#family(name, help, kind);
    family.collect = collect;
  }

  /**
   * Drop one labelled child (e.g. a removed backend).
   *
   * @param name Metric name.
   * @param labels The child's labels.
   */
  remove(name: string, labels: Labels): void {
    this.#families.get(name)?.children.delete(labelKey(labels));
  }

  /**
   * Every family with its samples, as plain data (what workers send to the main thread).
   *
   * @returns Families in registration order.
   */
  families(): MetricFamily[] {
    const out: MetricFamily[] = [];
    for (const family of this.#families.values()) {
      const samples: [string, number][] = [];
      if (family.collect) {
        for (const [labels, value] of family.collect()) {
          samples.push([`${family.name}${renderLabels(labels)}`, value]);
        }
      }
      for (const { labels, metric } of family.children.values()) {
        if (metric instanceof Histogram) {
          let cumulative = 0;
          metric.bounds.forEach((bound, i) => {
            cumulative += metric.counts[i]!;
            samples.push([
              `${family.name}_bucket${renderLabels({ ...labels, le: num(bound) })}`,
              cumulative,
            ]);
          });
          samples.push([
            `${family.name}_bucket${renderLabels({ ...labels, le: "+Inf" })}`,
            metric.count,
          ]);
          samples.push([`${family.name}_sum${renderLabels(labels)}`, metric.sum]);
          samples.push([`${family.name}_count${renderLabels(labels)}`, metric.count]);
        } else {
          samples.push([`${family.name}${renderLabels(labels)}`, metric.value]);
        }
      }
      out.push({ name: family.name, help: family.help, kind: family.kind, samples });
    }
    return out;
  }

  /**
   * Render every family as Prometheus text exposition format 0.0.4.
   *
   * @returns The exposition text, ending with a newline.
   */
  render(): string {
    return renderFamilies(this.families());
  }
}

/** One metric family as plain data: name, help, type and its samples (series text, value). */
export interface MetricFamily {
  /** Family name. */
  name: string;
  /** Help text. */
  help: string;
  /** Prometheus type. */
  kind: "counter" | "gauge" | "histogram";
  /** `[series, value]`, the series as written in the exposition (`name{labels}`). */
  samples: [string, number][];
}

/**
 * Render families as Prometheus text exposition format 0.0.4.
 *
 * @param families Families from {@linkcode Registry.families} or {@linkcode mergeFamilies}.
 * @returns The exposition text, ending with a newline.
 * @example
 * ```ts
 * const registry = new Registry();
 * registry.counter("demo_total", "Demo events").inc();
 * const text = renderFamilies(registry.families());
 * ```
 */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    out.push(`# TYPE ${family.name} ${family.kind}`);
    for (const [series, value] of family.samples) out.push(`${series} ${num(value)}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Add up the families of several registries (e.g. one per worker). Counters, histograms and
 * gauges named `*_active` (connections open now) are summed, which is exact; other gauges are
 * states, weights or flags (`backend_up`, `draining`) and take the largest value.
 *
 * @param lists One family list per source.
 * @returns The merged families, in first-seen order.
 * @example
 * ```ts
 * const merged = mergeFamilies([workerA.families(), workerB.families()]);
 * ```
 */
export function mergeFamilies(lists: readonly (readonly MetricFamily[])[]): MetricFamily[] {
  const merged = new Map<string, { family: MetricFamily; values: Map<string, number> }>();
  for (const list of lists) {
    for (const family of list) {
      let entry = merged.get(family.name);
      if (entry === undefined) {
        entry = { family: { ...family, samples: [] }, values: new Map() };
        merged.set(family.name, entry);
      }
      const additive = family.kind !== "gauge" || family.name.endsWith("_active");
      for (const [series, value] of family.samples) {
        const prev = entry.values.get(series);
        entry.values.set(
          series,
          prev === undefined ? value : additive ? prev + value : Math.max(prev, value),
        );
      }
    }
  }
  return [...merged.values()].map(({ family, values }) => ({ ...family, samples: [...values] }));
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function num(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Parse Prometheus text back into `name{labels}` to value, for tests and tools.
 *
 * @param text Exposition text.
 * @returns Samples keyed by the series as written (e.g. `x_total{backend="a"}`).
 * @example
 * ```ts
 * parsePrometheus("demo_total 3\n").get("demo_total"); // 3
 * ```
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    const value = line.slice(space + 1);
    samples.set(
      line.slice(0, space),
      value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value),
    );
  }
  return samples;
}
