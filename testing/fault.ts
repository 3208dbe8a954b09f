/**
 * A fault-injection harness for TCP relays (the proxy, the load balancer, anything that
 * forwards a `host:port` to an upstream). It provides a misbehaving upstream
 * ({@linkcode startFaultUpstream}) and drives the service under test with thousands of
 * connections mixing normal exchanges and faults ({@linkcode runFaultSuite}), then reports
 * byte-exactness, hangs, descriptors, memory and unhandled rejections.
 *
 * Every client tells the upstream what to do with a 9-byte header (mode, seed, size), so one
 * upstream serves every fault kind and the relay in between stays a black box. Payloads are
 * slices of one random tape, so both ends can check every byte without keeping copies.
 *
 * This module imports no service; tests start the service and hand its address here.
 *
 * @module
 */

import { formatAddress } from "@monkey/shared";
import { dial, readExactly, waitFor } from "./peers.ts";

/** The fault kinds a run mixes. */
export const FAULT_KINDS = [
  "normal",
  "half_close",
  "client_reset",
  "client_vanish",
  "upstream_reset",
  "upstream_silent",
  "slow_reader",
  "dead_port",
  "over_limit",
] as const;

/** One kind of connection in a run. */
export type FaultKind = typeof FAULT_KINDS[number];

/** Default share of each kind in a run (weights, not percentages). */
export const DEFAULT_MIX: Readonly<Record<FaultKind, number>> = {
  normal: 34,
  half_close: 10,
  client_reset: 8,
  client_vanish: 8,
  upstream_reset: 8,
  upstream_silent: 4,
  slow_reader: 8,
  dead_port: 8,
  over_limit: 12,
};

const KiB = 1024;
const MiB = 1024 * KiB;
const TAPE_BITS = 20;
const TAPE_SIZE = 1 << TAPE_BITS;
const TAPE_MASK = TAPE_SIZE - 1;
const HEADER_BYTES = 9;
const WRITE_CHUNK = 64 * KiB;
const READ_CHUNK = 64 * KiB;
const SLOW_READ_CHUNK = 2 * KiB;

let tapeCache: Uint8Array | undefined;

/** One MiB of random bytes every payload is cut from (position `p` of stream `s` is `tape[(s + p) % size]`). */
function tape(): Uint8Array {
  if (tapeCache === undefined) {
    tapeCache = new Uint8Array(TAPE_SIZE);
    for (let off = 0; off < TAPE_SIZE; off += 64 * KiB) {
      crypto.getRandomValues(tapeCache.subarray(off, off + 64 * KiB));
    }
  }
  return tapeCache;
}

/** Bytes `[pos, pos + n)` of stream `seed`, at most up to the tape's end (callers loop). */
function tapeChunk(seed: number, pos: number, n: number): Uint8Array {
  const start = (seed + pos) & TAPE_MASK;
  return tape().subarray(start, Math.min(TAPE_SIZE, start + n));
}

/** Bytes `[0, n)` of stream `seed`, as one array. */
function streamBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let pos = 0; pos < n;) {
    const chunk = tapeChunk(seed, pos, n - pos);
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}

/** Whether `chunk` equals stream `seed` at position `pos`. */
function matchesStream(seed: number, pos: number, chunk: Uint8Array): boolean {
  const t = tape();
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== t[(seed + pos + i) & TAPE_MASK]) return false;
  }
  return true;
}

async function writeStream(
  conn: Deno.Conn,
  seed: number,
  n: number,
  onBytes?: (n: number) => void,
): Promise<void> {
  for (let pos = 0; pos < n;) {
    const chunk = tapeChunk(seed, pos, Math.min(WRITE_CHUNK, n - pos));
    let off = 0;
    while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    pos += chunk.length;
    onBytes?.(chunk.length);
  }
}

/** What the upstream does with a connection, chosen by the client's header. */
type Mode = "E" | "H" | "R" | "S" | "F";

function header(mode: Mode, seed: number, size: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = mode.charCodeAt(0);
  view.setUint32(1, seed);
  view.setUint32(5, size);
  return out;
}

/** The misbehaving upstream: one or more loopback listeners serving every fault mode. */
export interface FaultUpstream extends AsyncDisposable {
  /** Listener addresses (`127.0.0.1:port`), one per listener. */
  readonly addrs: string[];
  /** Connections open now. */
  readonly open: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes written by flooding connections so far. */
  readonly flooded: number;
  /** PROXY protocol headers read (with `proxyProtocol`). */
  readonly proxyHeaders: number;
  /** Stop listening, close every connection, wait for the handlers. */
  close(): Promise<void>;
}

/** Options for {@linkcode startFaultUpstream}. */
export interface FaultUpstreamOptions {
  /** How many listeners (distinct backends for a load balancer). @default 1 */
  listeners?: number;
  /** Expect a PROXY protocol v1 or v2 header before each client's bytes. @default false */
  proxyProtocol?: boolean;
}

const PROXY_V2_FIXED = 16;
const PROXY_V1_MAX = 107;

/** Read and drop a PROXY protocol v1 line or v2 header; returns its length. */
async function skipProxyHeader(conn: Deno.Conn): Promise<number> {
  const first = await readExactly(conn, 1);
  if (first[0] === 0x50) { // "P": v1, up to CRLF
    let n = 1;
    let last = 0;
    for (;;) {
      const [b] = await readExactly(conn, 1);
      n++;
      if (last === 0x0d && b === 0x0a) return n;
      if (n > PROXY_V1_MAX) throw new Error("PROXY v1 line too long");
      last = b!;
    }
  }
  const fixed = await readExactly(conn, PROXY_V2_FIXED - 1);
  const length = new DataView(fixed.buffer).getUint16(PROXY_V2_FIXED - 3);
  await readExactly(conn, length);
  return PROXY_V2_FIXED + length;
}

/**
 * Start the upstream every fault-suite client talks to through the service under test. Per
 * connection it reads a header and then echoes (`E`), stores and forwards after the client's
 * FIN (`H`), sends a few bytes and resets (`R`), reads and never answers (`S`), or floods
 * (`F`).
 *
 * @param options Listener count.
 * @returns The running upstream.
 * @example
 * ```ts
 * await using upstream = startFaultUpstream({ listeners: 2 });
 * console.log(upstream.addrs);
 * ```
 */
export function startFaultUpstream(options: FaultUpstreamOptions = {}): FaultUpstream {
  const listeners = Array.from(
    { length: options.listeners ?? 1 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const live = new Set<Deno.TcpConn>();
  const tasks = new Set<Promise<void>>();
  const counts = { accepted: 0, flooded: 0, proxyHeaders: 0 };
  const serve = async (conn: Deno.TcpConn) => {
    try {
      if (options.proxyProtocol) {
        await skipProxyHeader(conn);
        counts.proxyHeaders++;
      }
      const head = await readExactly(conn, HEADER_BYTES);
      const view = new DataView(head.buffer);
      const mode = String.fromCharCode(head[0]!) as Mode;
      const seed = view.getUint32(1);
      const size = view.getUint32(5);
      const buf = new Uint8Array(READ_CHUNK);
      switch (mode) {
        case "E":
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            let off = 0;
            while (off < n) off += await conn.write(buf.subarray(off, n));
          }
          break;
        case "H": {
          const chunks: Uint8Array[] = [];
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            chunks.push(buf.slice(0, n));
          }
          for (const chunk of chunks) {
            let off = 0;
            while (off < chunk.length) off += await conn.write(chunk.subarray(off));
          }
          break;
        }
        case "R":
          // A few bytes, then close with the client's data unread: the kernel sends RST.
          await writeStream(conn, seed, size);
          break;
        case "S":
          while (await conn.read(buf) !== null) { /* never answer */ }
          break;
        case "F":
          await writeStream(conn, seed, size, (n) => counts.flooded += n);
          break;
      }
    } finally {
      live.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed by close() already.
      }
    }
  };
  const loops = listeners.map(async (listener) => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      counts.accepted++;
      live.add(conn);
      const task = serve(conn).catch(() => {/* peers reset on purpose */});
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
  });
  const close = async () => {
    for (const listener of listeners) {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
    }
    await Promise.all(loops);
    for (const conn of live) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await Promise.allSettled([...tasks]);
  };
  return {
    addrs: listeners.map((l) => formatAddress(l.addr)),
    get open() {
      return live.size;
    },
    get accepted() {
      return counts.accepted;
    },
    get flooded() {
      return counts.flooded;
    },
    get proxyHeaders() {
      return counts.proxyHeaders;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A service address and its active-connection gauge. */
export interface FaultTarget {
  /** `host:port` of the service. */
  addr: string;
  /** The service's active-connection count (must return to 0). */
  active: () => number;
}

/** What {@linkcode runFaultSuite} drives. */
export interface FaultTargets {
  /** The service under test, forwarding to the fault upstream; needs an idle timeout. */
  main: FaultTarget;
  /** A service whose upstream is a dead port (`dead_port` connections go here). */
  dead?: FaultTarget;
  /** A service forwarding to the fault upstream with a small `max_connections` (`over_limit`). */
  limited?: FaultTarget & { limit: number };
}

/** Options for {@linkcode runFaultSuite}. */
export interface FaultRunOptions {
  /** Connections in the mixed phase. @default 2000 */
  connections?: number;
  /** Connections open at once. @default 250 */
  concurrency?: number;
  /** Per-connection deadline; a connection still open then counts as hung. @default 10000 */
  deadlineMs?: number;
  /** Weights of each kind; kinds without a target get none. @default DEFAULT_MIX */
  mix?: Partial<Record<FaultKind, number>>;
  /** Largest normal/half-close payload. @default 300 KiB */
  maxSize?: number;
  /** Seed of the plan (kinds, sizes, delays). @default random */
  seed?: number;
  /** Clients that stop reading while the upstream floods, in the memory phase. @default 16 */
  stalledReaders?: number;
  /** Bytes each stalled flood would send if nothing pushed back. @default 48 MiB */
  stalledFloodBytes?: number;
  /** Time to wait for gauges and descriptors to settle after the run. @default 10000 */
  settleMs?: number;
}

/** The figures of one run. */
export interface FaultReport {
  /** Plan seed (rerun with it to reproduce the plan). */
  seed: number;
  /** Connections opened by the mixed phase (over-limit holders included). */
  connections: number;
  /** Connections per kind. */
  byKind: Record<FaultKind, number>;
  /** Most connections open at once. */
  maxInFlight: number;
  /** Payload bytes checked byte for byte. */
  bytesVerified: number;
  /** Connections rejected over the limit (seen as an immediate close). */
  rejectedOverLimit: number;
  /** Connections that missed their deadline. */
  hung: number;
  /** One line per failed connection (empty when all passed). */
  failures: string[];
  /** Open descriptors before the run and after everything settled. */
  fds: { before: number; after: number };
  /** RSS before the stalled-reader phase and with every stalled flood blocked. */
  rss: { before: number; stalled: number; connections: number; floodedBytes: number };
  /** Unhandled rejections and uncaught errors seen during the run. */
  unhandled: string[];
  /** Wall time of the whole run. */
  durationMs: number;
}

/** A seeded PRNG (mulberry32), so a plan can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Count this process's open file descriptors (Linux `/proc/self/fd`), leaving out pipes,
 * pidfds and `/dev/null`: the plumbing of counting itself, which varies between calls. Deno
 * grants `/proc/self/fd` only with `--allow-all`; otherwise `ls -l /proc/<pid>/fd` is run
 * (needs `--allow-run`).
 *
 * @returns Sockets, files and other descriptors open now.
 */
export async function openFds(): Promise<number> {
  let targets: string[];
  try {
    targets = [...Deno.readDirSync("/proc/self/fd")].map((entry) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      } catch {
        return "gone"; // the directory handle itself
      }
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    const out = await new Deno.Command("ls", {
      args: ["-l", `/proc/${Deno.pid}/fd`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    // Exit status 1 with a listing is normal: a descriptor closed between readdir and stat.
    if (out.code > 1) throw new Error(`cannot list /proc/${Deno.pid}/fd`);
    targets = new TextDecoder().decode(out.stdout).split("\n")
      .filter((line) => line.includes(" -> "))
      .map((line) => line.slice(line.indexOf(" -> ") + 4));
  }
  return targets.filter((t) => !PLUMBING.test(t)).length;
}

/** Descriptors left out of {@linkcode openFds}: what spawning `ls` and reading a dir use. */
const PLUMBING = /^(pipe:|anon_inode:\[pidfd\]|\/dev\/null$|gone$|\/proc\/)/;

class Failure extends Error {}

/** A read that resolves to bytes, `null` at FIN, or "reset". */
async function readSome(conn: Deno.Conn, buf: Uint8Array): Promise<number | null | "reset"> {
  try {
    return await conn.read(buf);
  } catch {
    return "reset";
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

async function writeAllTo(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Read everything until a close; check it is exactly stream `seed` of `size` bytes. */
async function expectStream(
  conn: Deno.Conn,
  seed: number,
  size: number,
  chunk = READ_CHUNK,
): Promise<number> {
  const buf = new Uint8Array(chunk);
  let pos = 0;
  for (;;) {
    const n = await readSome(conn, buf);
    if (n === "reset") throw new Failure(`reset after ${pos} of ${size} bytes`);
    if (n === null) break;
    if (pos + n > size) throw new Failure(`got more than ${size} bytes`);
    if (!matchesStream(seed, pos, buf.subarray(0, n))) {
      throw new Failure(`bytes differ at offset ${pos} of ${size}`);
    }
    pos += n;
  }
  if (pos !== size) throw new Failure(`silently truncated: EOF after ${pos} of ${size} bytes`);
  return size;
}

/** Expect a visible close (FIN or reset) before any byte arrives. */
async function expectCloseWithoutData(conn: Deno.Conn): Promise<void> {
  const n = await readSome(conn, new Uint8Array(1024));
  if (typeof n === "number") throw new Failure(`expected a close, got ${n} bytes`);
}

interface Step {
  kind: FaultKind;
  seed: number;
  size: number;
  delayMs: number;
}

/** Run one client of the mixed phase; resolves to the bytes verified. */
async function runClient(conn: Deno.Conn, step: Step): Promise<number> {
  const { seed, size } = step;
  switch (step.kind) {
    case "normal": {
      // Write and read at once; the echo must come back byte-exact.
      const payload = streamBytes(seed, size);
      const writing = (async () => {
        await writeAllTo(conn, header("E", 0, 0));
        await writeAllTo(conn, payload);
      })();
      const buf = new Uint8Array(READ_CHUNK);
      let pos = 0;
      while (pos < size) {
        const n = await readSome(conn, buf);
        if (n === "reset" || n === null) {
          throw new Failure(`${n === null ? "EOF" : "reset"} after ${pos} of ${size} bytes`);
        }
        if (!matchesStream(seed, pos, buf.subarray(0, n))) {
          throw new Failure(`bytes differ at offset ${pos}`);
        }
        pos += n;
      }
      await writing;
      await conn.closeWrite();
      await expectCloseWithoutData(conn);
      return size;
    }
    case "half_close": {
      // Send, FIN, then the whole reply arrives after our FIN, then the upstream's FIN.
      await writeAllTo(conn, header("H", 0, 0));
      await writeAllTo(conn, streamBytes(seed, size));
      await conn.closeWrite();
      return await expectStream(conn, seed, size);
    }
    case "client_reset": {
      // Start a transfer, take a little of the echo, close with the rest unread: RST.
      await writeAllTo(conn, header("E", 0, 0));
      const writing = writeAllTo(conn, streamBytes(seed, size)).catch(() => {});
      const got = await readSome(conn, new Uint8Array(1024));
      if (typeof got !== "number") throw new Failure("closed before the echo started");
      closeQuietly(conn);
      await writing;
      return 0;
    }
    case "client_vanish": {
      // Ask for a flood, then go away without reading a byte.
      await writeAllTo(conn, header("F", seed, size));
      closeQuietly(conn);
      return 0;
    }
    case "upstream_reset": {
      // The upstream sends `size` bytes then resets: we get a prefix, then a visible close.
      await writeAllTo(conn, header("R", seed, size));
      void writeAllTo(conn, streamBytes(seed, 16 * KiB)).catch(() => {});
      const buf = new Uint8Array(1024);
      let pos = 0;
      for (;;) {
        const n = await readSome(conn, buf);
        if (n === null || n === "reset") break;
        if (pos + n > size || !matchesStream(seed, pos, buf.subarray(0, n))) {
          throw new Failure(`bytes before the reset differ (offset ${pos})`);
        }
        pos += n;
      }
      return pos;
    }
    case "upstream_silent": {
      // The upstream never answers: the service's idle timeout must close us.
      await writeAllTo(conn, header("S", 0, 0));
      await writeAllTo(conn, streamBytes(seed, 100));
      await expectCloseWithoutData(conn);
      return 0;
    }
    case "slow_reader": {
      // The upstream floods; we start late and read in small pieces.
      await writeAllTo(conn, header("F", seed, size));
      await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      const got = await expectStream(conn, seed, size, SLOW_READ_CHUNK);
      return got;
    }
    case "dead_port": {
      await writeAllTo(conn, header("E", 0, 0)).catch(() => {});
      await expectCloseWithoutData(conn);
      return 0;
    }
    case "over_limit":
      throw new Failure("over_limit runs in its own lane");
  }
}

/** A connection with a deadline: on expiry the socket is closed and the client counted as hung. */
async function withDeadline<T>(
  conn: Deno.Conn,
  deadlineMs: number,
  body: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      closeQuietly(conn);
      reject(new Failure(`hung: still open after ${deadlineMs} ms`));
    }, deadlineMs);
  });
  try {
    return await Promise.race([body(), expired]);
  } finally {
    clearTimeout(timer);
    expired.catch(() => {});
  }
}

function planRun(count: number, mix: Record<FaultKind, number>, maxSize: number, seed: number) {
  const rand = prng(seed);
  const kinds = FAULT_KINDS.filter((k) => k !== "over_limit" && mix[k] > 0);
  const total = kinds.reduce((sum, k) => sum + mix[k], 0);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    let r = rand() * total;
    let kind = kinds[kinds.length - 1]!;
    for (const k of kinds) {
      if ((r -= mix[k]) < 0) {
        kind = k;
        break;
      }
    }
    // Sizes: half log-uniform over 1 B .. maxSize (every order of magnitude), half uniform
    // (bulk transfers that grow the relay's buffers).
    const drawn = rand() < 0.5 ? Math.exp(rand() * Math.log(maxSize)) : rand() * maxSize;
    let size = Math.min(maxSize, Math.max(1, Math.floor(drawn)));
    if (kind === "client_reset") size = 32 * KiB + Math.floor(rand() * 256 * KiB);
    if (kind === "client_vanish") size = 64 * KiB + Math.floor(rand() * MiB);
    if (kind === "upstream_reset") size = 1 + Math.floor(rand() * 64);
    if (kind === "slow_reader") size = 256 * KiB + Math.floor(rand() * 768 * KiB);
    steps.push({
      kind,
      seed: Math.floor(rand() * TAPE_SIZE),
      size,
      delayMs: 50 + Math.floor(rand() * 250),
    });
  }
  return steps;
}

/**
 * Run the fault suite: a mixed phase of `connections` clients, `concurrency` at once; an
 * over-limit lane alongside (bursts beyond the limited service's `max_connections` while
 * it is full); then a memory phase where clients stop reading while the upstream floods;
 * then checks that every gauge returns to 0, descriptors return to the baseline and a normal
 * exchange still works. It does not assert: the caller asserts on the report.
 *
 * @param targets The service under test and its dead-port and limited variants.
 * @param upstream The fault upstream the services forward to.
 * @param options Counts, concurrency, deadlines, mix.
 * @returns The figures of the run.
 * @example
 * ```ts
 * const report = await runFaultSuite({ main: { addr: proxy.addr, active: () => proxy.snapshot().active_connections } }, upstream);
 * console.log(formatFaultReport(report));
 * ```
 */
export async function runFaultSuite(
  targets: FaultTargets,
  upstream: FaultUpstream,
  options: FaultRunOptions = {},
): Promise<FaultReport> {
  const started = performance.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const mix = { ...DEFAULT_MIX, ...options.mix };
  if (targets.dead === undefined) mix.dead_port = 0;
  if (targets.limited === undefined) mix.over_limit = 0;
  const connections = options.connections ?? 2000;
  const concurrency = options.concurrency ?? 250;
  const weights = FAULT_KINDS.reduce((sum, k) => sum + mix[k], 0);
  const overLimitCount = Math.round(connections * mix.over_limit / weights);
  const steps = planRun(connections - overLimitCount, mix, options.maxSize ?? 300 * KiB, seed);

  const unhandled: string[] = [];
  const onRejection = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    unhandled.push(`unhandled rejection: ${String(event.reason?.stack ?? event.reason)}`);
  };
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    unhandled.push(`uncaught error: ${String(event.error?.stack ?? event.message)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);

  const byKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const failures: string[] = [];
  let bytesVerified = 0;
  let hung = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let rejectedOverLimit = 0;
  const fail = (kind: FaultKind, i: number, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("hung")) hung++;
    failures.push(`${kind} #${i}: ${message}`);
  };
  const track = async <T>(fn: () => Promise<T>): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await fn();
    } finally {
      inFlight--;
    }
  };

  const fdsBefore = await openFds();
  try {
    // Mixed phase.
    let next = 0;
    const worker = async () => {
      while (next < steps.length) {
        const i = next++;
        const step = steps[i]!;
        byKind[step.kind]++;
        const target = step.kind === "dead_port" ? targets.dead! : targets.main;
        await track(async () => {
          let conn: Deno.TcpConn;
          try {
            conn = await dial(target.addr);
          } catch (error) {
            return fail(step.kind, i, error);
          }
          try {
            // (`x += await f()` would read x before the await and lose concurrent updates.)
            const verified = await withDeadline(conn, deadlineMs, () => runClient(conn, step));
            bytesVerified += verified;
          } catch (error) {
            fail(step.kind, i, error);
          } finally {
            closeQuietly(conn);
          }
        });
      }
    };
    const overLimitLane = async () => {
      const limited = targets.limited;
      if (limited === undefined) return;
      const extra = Math.max(1, limited.limit * 2);
      let opened = 0;
      let burst = 0;
      while (opened < overLimitCount) {
        burst++;
        await waitFor(() => limited.active() === 0, deadlineMs, "limited service to go idle");
        const holders: Deno.TcpConn[] = [];
        try {
          // Fill every slot with a live echo, then knock: every knock must be closed at once.
          for (let h = 0; h < limited.limit; h++) {
            const conn = await dial(limited.addr);
            holders.push(conn);
            opened++;
            byKind.over_limit++;
            await withDeadline(conn, deadlineMs, async () => {
              await writeAllTo(conn, header("E", 0, 0));
              await writeAllTo(conn, new Uint8Array([h]));
              const [b] = await readExactly(conn, 1);
              if (b !== h) throw new Failure("holder echo differs");
            });
            bytesVerified += 1;
          }
          await Promise.all(Array.from({ length: extra }, (_, k) =>
            track(async () => {
              opened++;
              byKind.over_limit++;
              const conn = await dial(limited.addr);
              try {
                await withDeadline(conn, deadlineMs, () => expectCloseWithoutData(conn));
                rejectedOverLimit++;
              } catch (error) {
                fail("over_limit", burst * 1000 + k, error);
              } finally {
                closeQuietly(conn);
              }
            })));
        } catch (error) {
          fail("over_limit", burst, error);
        } finally {
          for (const conn of holders) closeQuietly(conn);
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: Math.min(concurrency, steps.length) }, worker),
      overLimitLane(),
    ]);

    // Memory phase: clients stop reading while the upstream floods.
    const rss = await stalledReaders(targets.main, upstream, options, deadlineMs);

    // Settle: every gauge back to 0, every upstream connection closed, descriptors back.
    const settleMs = options.settleMs ?? 10_000;
    const gauges = [targets.main, targets.dead, targets.limited].filter((t) => t !== undefined);
    try {
      await waitFor(
        () => gauges.every((t) => t.active() === 0) && upstream.open === 0,
        settleMs,
        "active gauges and upstream connections to reach 0",
      );
    } catch (error) {
      failures.push(
        `${(error as Error).message} (active: ${
          gauges.map((t) => t.active()).join("/")
        }, upstream open: ${upstream.open})`,
      );
    }
    let fdsAfter = await openFds();
    for (const deadline = performance.now() + settleMs; fdsAfter > fdsBefore;) {
      if (performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      fdsAfter = await openFds();
    }

    // Still serving: one normal exchange of 1 MiB.
    const check = await dial(targets.main.addr);
    try {
      const verified = await withDeadline(
        check,
        deadlineMs,
        () => runClient(check, { kind: "normal", seed: 7, size: MiB, delayMs: 0 }),
      );
      bytesVerified += verified;
    } catch (error) {
      failures.push(`service no longer serves after the run: ${(error as Error).message}`);
    } finally {
      closeQuietly(check);
    }
    return {
      seed,
      connections: steps.length + byKind.over_limit,
      byKind,
      maxInFlight,
      bytesVerified,
      rejectedOverLimit,
      hung,
      failures,
      fds: { before: fdsBefore, after: fdsAfter },
      rss,
      unhandled,
      durationMs: performance.now() - started,
    };
  } finally {
    // Let rejections queued by the last closes surface before the listeners go.
    await new Promise((resolve) => setTimeout(resolve, 0));
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
}

const STALL_QUIET_MS = 300;

async function stalledReaders(
  target: FaultTarget,
  upstream: FaultUpstream,
  options: FaultRunOptions,
  deadlineMs: number,
): Promise<FaultReport["rss"]> {
  const count = options.stalledReaders ?? 16;
  const flood = options.stalledFloodBytes ?? 48 * MiB;
  const before = Deno.memoryUsage().rss;
  const floodedBefore = upstream.flooded;
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const conn = await dial(target.addr);
      conns.push(conn);
      await writeAllTo(conn, header("F", i * 4099, flood));
    }
    // No event says "every flood is blocked": watch the upstream's byte counter stand still.
    let last = -1;
    let quietSince = performance.now();
    await waitFor(
      () => {
        const now = performance.now();
        if (upstream.flooded !== last) {
          last = upstream.flooded;
          quietSince = now;
          return false;
        }
        return now - quietSince >= STALL_QUIET_MS;
      },
      deadlineMs,
      "stalled floods to stop moving",
    );
    return {
      before,
      stalled: Deno.memoryUsage().rss,
      connections: count,
      floodedBytes: upstream.flooded - floodedBefore,
    };
  } finally {
    for (const conn of conns) closeQuietly(conn);
  }
}

/**
 * The report as a few human lines (what the README and the closing note quote).
 *
 * @param report A report from {@linkcode runFaultSuite}.
 * @param label What was tested, e.g. "proxy".
 * @returns Text.
 */
export function formatFaultReport(report: FaultReport, label: string): string {
  const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  const kinds = FAULT_KINDS.filter((k) => report.byKind[k] > 0)
    .map((k) => `${k} ${report.byKind[k]}`).join(", ");
  return [
    `[fault suite] ${label}: ${report.connections} connections (max ${report.maxInFlight} at once) ` +
    `in ${(report.durationMs / 1000).toFixed(1)} s, seed ${report.seed}`,
    `[fault suite] ${label}: faults by kind: ${kinds}`,
    `[fault suite] ${label}: bytes verified ${report.bytesVerified} (${
      mb(report.bytesVerified)
    }), rejected over limit ${report.rejectedOverLimit}, hung ${report.hung}, failures ${report.failures.length}, unhandled ${report.unhandled.length}`,
    `[fault suite] ${label}: fds before ${report.fds.before}, after ${report.fds.after}; ` +
    `RSS before stalled readers ${mb(report.rss.before)}, with ${report.rss.connections} ` +
    `stalled floods ${mb(report.rss.stalled)} (flooded ${
      mb(report.rss.floodedBytes)
    } before blocking)`,
    ...report.failures.slice(0, MAX_LISTED).map((f) => `[fault suite] ${label}: FAILED ${f}`),
    ...report.unhandled.slice(0, MAX_LISTED).map((u) => `[fault suite] ${label}: ${u}`),
  ].join("\n");
}

/** Failures and unhandled errors listed in full by {@linkcode formatFaultReport}. */
const MAX_LISTED = 10;
