/**
 * The fault-suite clients: what each kind of connection does, how its bytes are checked, and
 * the deadline that turns a hang into a failure.
 *
 * @module
 */

import { closeQuietly, writeAll } from "../io.ts";
import type { Step } from "./plan.ts";
import { header, KiB, matchesStream, streamBytes } from "./tape.ts";

const READ_CHUNK = 64 * KiB;
const SLOW_READ_CHUNK = 2 * KiB;
const PROBE_CHUNK = 1024;
/** What an `upstream_reset` client keeps sending while the upstream resets. */
const RESET_SEND = 16 * KiB;
/** What an `upstream_silent` client sends before waiting for the idle timeout. */
const SILENT_SEND = 100;

/** A client saw the service misbehave (as opposed to a harness error). */
export class Failure extends Error {}

/** A read that resolves to bytes, `null` at FIN, or "reset". */
async function readSome(conn: Deno.Conn, buf: Uint8Array): Promise<number | null | "reset"> {
  try {
    return await conn.read(buf);
  } catch {
    return "reset";
  }
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

/**
 * Expect a visible close (FIN or reset) before any byte arrives.
 *
 * @param conn The connection.
 * @throws {Failure} When bytes arrive instead.
 */
export async function expectCloseWithoutData(conn: Deno.Conn): Promise<void> {
  const n = await readSome(conn, new Uint8Array(PROBE_CHUNK));
  if (typeof n === "number") throw new Failure(`expected a close, got ${n} bytes`);
}

/** Write and read at once; the echo must come back byte-exact, then a clean close. */
async function normal(conn: Deno.Conn, { seed, size }: Step): Promise<number> {
  const payload = streamBytes(seed, size);
  const writing = (async () => {
    await writeAll(conn, header("E", 0, 0));
    await writeAll(conn, payload);
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

/** The upstream sends `size` bytes then resets: we get a prefix, then a visible close. */
async function upstreamReset(conn: Deno.Conn, { seed, size }: Step): Promise<number> {
  await writeAll(conn, header("R", seed, size));
  void writeAll(conn, streamBytes(seed, RESET_SEND)).catch(() => {});
  const buf = new Uint8Array(PROBE_CHUNK);
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

/**
 * Run one client of the mixed phase.
 *
 * @param conn Its connection to the service.
 * @param step What it does.
 * @returns The bytes verified.
 * @throws {Failure} When the service misbehaved.
 */
export async function runClient(conn: Deno.Conn, step: Step): Promise<number> {
  const { seed, size } = step;
  switch (step.kind) {
    case "normal":
      return await normal(conn, step);
    case "half_close": {
      // Send, FIN, then the whole reply arrives after our FIN, then the upstream's FIN.
      await writeAll(conn, header("H", 0, 0));
      await writeAll(conn, streamBytes(seed, size));
      await conn.closeWrite();
      return await expectStream(conn, seed, size);
    }
    case "client_reset": {
      // Start a transfer, take a little of the echo, close with the rest unread: RST.
      await writeAll(conn, header("E", 0, 0));
      const writing = writeAll(conn, streamBytes(seed, size)).catch(() => {});
      const got = await readSome(conn, new Uint8Array(PROBE_CHUNK));
      if (typeof got !== "number") throw new Failure("closed before the echo started");
      closeQuietly(conn);
      await writing;
      return 0;
    }
    case "client_vanish":
      // Ask for a flood, then go away without reading a byte.
      await writeAll(conn, header("F", seed, size));
      closeQuietly(conn);
      return 0;
    case "upstream_reset":
      return await upstreamReset(conn, step);
    case "upstream_silent":
      // The upstream never answers: the service's idle timeout must close us.
      await writeAll(conn, header("S", 0, 0));
      await writeAll(conn, streamBytes(seed, SILENT_SEND));
      await expectCloseWithoutData(conn);
      return 0;
    case "slow_reader":
      // The upstream floods; we start late and read in small pieces.
      await writeAll(conn, header("F", seed, size));
      await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      return await expectStream(conn, seed, size, SLOW_READ_CHUNK);
    case "dead_port":
      await writeAll(conn, header("E", 0, 0)).catch(() => {});
      await expectCloseWithoutData(conn);
      return 0;
    case "over_limit":
      throw new Failure("over_limit runs in its own lane");
  }
}

/**
 * Run `body` on a connection with a deadline: on expiry the socket is closed and the client
 * fails as hung.
 *
 * @param conn The connection.
 * @param deadlineMs The deadline.
 * @param body What to run.
 * @returns What `body` returns.
 * @throws {Failure} `hung: …` on expiry.
 */
export async function withDeadline<T>(
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
