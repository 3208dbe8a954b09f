/**
 * Latency histograms: HdrHistogram (3 significant digits, microseconds), their summary,
 * exact merging and the compressed base64 form stored in JSON results.
 *
 * @module
 */

import * as hdr from "hdr-histogram-js";

/** An HdrHistogram of latencies in microseconds. */
export type LatencyHistogram = hdr.Histogram;

/** Largest latency tracked, in microseconds (one hour); larger values are clamped. */
export const MAX_TRACKABLE_US = 3_600_000_000;
/** Significant decimal digits kept by every histogram. */
export const SIGNIFICANT_DIGITS = 3;
/** Counts per bucket are 32-bit: measured fastest of the plain-JS layouts here. */
const BIT_BUCKET_SIZE = 32;

/** Latency summary in microseconds, as written to reports and JSON. */
export interface LatencySummary {
  /** Smallest sample. */
  min: number;
  /** Arithmetic mean. */
  mean: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest sample. */
  max: number;
}

/**
 * Create an empty latency histogram (µs, 1 µs to one hour, 3 significant digits).
 *
 * @returns The histogram; its memory is fixed however many samples it holds.
 * @example
 * ```ts
 * const h = createHistogram();
 * recordMicros(h, 120);
 * ```
 */
export function createHistogram(): LatencyHistogram {
  const histogram = hdr.build({
    bitBucketSize: BIT_BUCKET_SIZE,
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKABLE_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    useWebAssembly: false,
  });
  useIntegerIndex(histogram as unknown as Indexed);
  return histogram;
}

/** The plain-JS histogram's slot lookup and the fields it uses. */
interface Indexed {
  countsArrayIndex(value: number): number;
  subBucketHalfCountMagnitude: number;
  unitMagnitude: number;
  subBucketHalfCount: number;
}

/** Values below this take the 32-bit slot lookup. */
const UINT32_LIMIT = 2 ** 32;

/**
 * Replace the library's slot lookup (`log2`, two `pow` calls: ~2-3 % of the load tester's CPU
 * under load) with the same index in 32-bit integer math, as HdrHistogram's Java original
 * computes it (leading zeros). Values of 2^32 and more keep the library's lookup.
 */
function useIntegerIndex(h: Indexed): void {
  const original = h.countsArrayIndex;
  const halfMagnitude = h.subBucketHalfCountMagnitude;
  const unitMagnitude = h.unitMagnitude;
  const base = h.subBucketHalfCount;
  h.countsArrayIndex = function (value: number): number {
    if (!(value >= 0 && value < UINT32_LIMIT)) return original.call(this, value);
    const bucket = Math.max(0, 31 - Math.clz32(value) - halfMagnitude - unitMagnitude);
    return ((bucket + 1) << halfMagnitude) + (value >>> (bucket + unitMagnitude)) - base;
  };
}

/**
 * Record one latency, clamped to the trackable range.
 *
 * @param histogram Where to record.
 * @param micros Latency in microseconds (fractions are rounded).
 */
export function recordMicros(histogram: LatencyHistogram, micros: number): void {
  const value = micros < 0 ? 0 : micros > MAX_TRACKABLE_US ? MAX_TRACKABLE_US : Math.round(micros);
  histogram.recordValue(value);
}

/**
 * Summarise a histogram; all zeros when it is empty.
 *
 * @param histogram The histogram.
 * @returns min, mean, p50, p90, p95, p99, p99.9 and max in µs.
 */
export function summarize(histogram: LatencyHistogram): LatencySummary {
  if (histogram.totalCount === 0) {
    return { min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  }
  const min = histogram.getValueAtPercentile(0);
  return {
    min,
    mean: Math.round(histogram.mean * 10) / 10,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p95: histogram.getValueAtPercentile(95),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.getValueAtPercentile(100),
  };
}

/**
 * Encode a histogram as compressed base64 (the HdrHistogram interchange format).
 *
 * @param histogram The histogram.
 * @returns Base64 text.
 */
export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/**
 * Decode a histogram written by {@linkcode encodeHistogram} (or any HdrHistogram tool).
 *
 * @param base64 Compressed base64 text.
 * @returns A histogram with the same counts.
 * @throws {Error} When the text is not an encoded histogram.
 */
export function decodeHistogram(base64: string): LatencyHistogram {
  const decoded = hdr.decodeFromCompressedBase64(base64, BIT_BUCKET_SIZE, false);
  // Re-home the counts in a histogram with our range so later merges never resize.
  const histogram = createHistogram();
  histogram.add(decoded);
  return histogram;
}

/**
 * Add histograms into a new one: the exact histogram of all their samples.
 *
 * @param histograms Histograms to add.
 * @returns A new histogram.
 */
export function mergeHistograms(histograms: Iterable<LatencyHistogram>): LatencyHistogram {
  const total = createHistogram();
  for (const histogram of histograms) total.add(histogram);
  return total;
}
