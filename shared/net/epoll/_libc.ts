/**
 * The libc calls behind the epoll engine, loaded lazily through `Deno.dlopen`, and the Linux
 * constants they take. Results are plain `i32` (byte counts fit) so V8 fast calls apply; an
 * `isize` result is a BigInt (measured ~800 vs ~290 ns per 64-byte read).
 *
 * @module
 */

// Linux constants (the same on x86_64 and aarch64).
/** IPv4 address family. */
export const AF_INET = 2;
/** IPv6 address family. */
export const AF_INET6 = 10;
/** Stream (TCP) socket type. */
export const SOCK_STREAM = 1;
/** socket()/accept4() flag: non-blocking fd. */
export const SOCK_NONBLOCK = 0o4000;
/** socket()/accept4() flag: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;
/** Socket-level option level. */
export const SOL_SOCKET = 1;
/** Rebind an address in TIME_WAIT. */
export const SO_REUSEADDR = 2;
/** Pending socket error (read once a connect finished). */
export const SO_ERROR = 4;
/** Share a port between listeners. */
export const SO_REUSEPORT = 15;
/** TCP option level. */
export const IPPROTO_TCP = 6;
/** Disable Nagle's algorithm. */
export const TCP_NODELAY = 1;
/** shutdown(): stop sending (FIN). */
export const SHUT_WR = 1;
/** send(): never block. */
export const MSG_DONTWAIT = 0x40;
/** send(): EPIPE instead of SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;
/** epoll_ctl(): add an fd. */
export const EPOLL_CTL_ADD = 1;
/** epoll_ctl(): remove an fd. */
export const EPOLL_CTL_DEL = 2;
/** epoll_ctl(): change an fd's mask. */
export const EPOLL_CTL_MOD = 3;
/** Readable (or end of input, or error). */
export const EPOLLIN = 0x1;
/** Writable. */
export const EPOLLOUT = 0x4;
/** Error pending (always reported). */
export const EPOLLERR = 0x8;
/** Hung up (always reported). */
export const EPOLLHUP = 0x10;
/** Events after which a read makes progress: readable, or an error or hang-up to read. */
export const READY_IN: number = EPOLLIN | EPOLLERR | EPOLLHUP;
/** Events after which a write makes progress: writable, or an error or hang-up to report. */
export const READY_OUT: number = EPOLLOUT | EPOLLERR | EPOLLHUP;
/** The peer shut down its sending side (asked for, like EPOLLIN). */
export const EPOLLRDHUP = 0x2000;
/** Edge-triggered: report a change once, not the state on every wait (bit 31, kept positive). */
export const EPOLLET = 0x80000000;
/** epoll_create1() flag: close on exec. */
export const EPOLL_CLOEXEC = 0o2000000;
/** eventfd() flag: non-blocking. */
export const EFD_NONBLOCK = 0o4000;
/** eventfd() flag: close on exec. */
export const EFD_CLOEXEC = 0o2000000;
/** splice(): move pages rather than copy (a hint). */
export const SPLICE_F_MOVE = 1;
/** splice(): do not block on the pipe. */
export const SPLICE_F_NONBLOCK = 2;
/** pipe2() flag: non-blocking ends. */
export const O_NONBLOCK = 0o4000;
/** pipe2() flag: close on exec. */
export const O_CLOEXEC = 0o2000000;
/** fcntl(): set a pipe's capacity. */
export const F_SETPIPE_SZ = 1031;
/** Flags for every `send`: never block, never raise SIGPIPE. */
export const SEND_FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL;

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // Lengths as u32, not usize: a number passed as usize measured 2x slower per call (~570 vs
  // ~290 ns for a 64-byte read); a 32-bit argument is zero-extended in its 64-bit register on
  // x86_64 and aarch64, so the size_t the callee reads is exact.
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // Offsets are always NULL (sockets and pipes have none); the result fits an i32 (len is u32).
  splice: {
    parameters: ["i32", "pointer", "i32", "pointer", "u32", "u32"],
    result: "i32",
  },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // Variadic in C; an int third argument is passed like a fixed one on x86_64 and aarch64 Linux.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_nb: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libc functions. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Libc | undefined;
let loadError: unknown;
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * Load libc once per thread (each Worker has its own copy).
 *
 * @returns The symbols.
 * @throws {Error} When not on Linux, without `--allow-ffi`, or when libc cannot be loaded.
 * @example
 * ```ts
 * const fd = libc().socket(AF_INET, SOCK_STREAM, 0);
 * ```
 */
export function libc(): Libc {
  if (lib !== undefined) return lib;
  if (loadError !== undefined) throw loadError;
  try {
    if (Deno.build.os !== "linux") {
      throw new Error(`epoll engine needs Linux, running on '${Deno.build.os}'`);
    }
    lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    const location = lib.__errno_location();
    if (location === null) throw new Error("__errno_location() returned NULL");
    errnoView = new Deno.UnsafePointerView(location);
    return lib;
  } catch (error) {
    loadError = error;
    throw error;
  }
}

/**
 * The calling thread's `errno`, read right after a failed call (the pointer is thread-local
 * and every call here runs on this thread, except the nonblocking `epoll_wait`).
 *
 * @returns The error number.
 * @example
 * ```ts
 * if (libc().close(-1) < 0) console.log(errno()); // 9 (EBADF)
 * ```
 */
export function errno(): number {
  return errnoView!.getInt32();
}

/**
 * The C library's text for an error number.
 *
 * @param code An errno value.
 * @returns Text such as "Connection refused".
 * @example
 * ```ts
 * strerror(111); // "Connection refused"
 * ```
 */
export function strerror(code: number): string {
  const pointer = libc().strerror(code);
  return pointer === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(pointer);
}

/** Size of `struct epoll_event`: packed (12 bytes) on x86_64, 16 elsewhere. */
export const EPOLL_EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;

/** clock_gettime(): the clock `performance.now()` reads too. */
const CLOCK_MONOTONIC = 1;
/** Where clock_gettime() writes (tv_sec, tv_nsec as two 64-bit words; the low halves read). */
const timespec = new Int32Array(4);
/** `performance.now()` minus CLOCK_MONOTONIC in ms, found on first use. */
let clockOffset: number | undefined;

function monotonicMs(): number {
  libc().clock_gettime(CLOCK_MONOTONIC, timespec);
  return timespec[0]! * 1000 + timespec[2]! / 1e6;
}

/**
 * `performance.now()` at a third of its cost: the same clock (Deno reads CLOCK_MONOTONIC; the
 * offset is taken once from the closest of 8 pairs), read through a V8 fast call into the
 * vDSO. Measured: 89 ns against 204 ns per call; the load tester's closed loop and the
 * epoll loop read it once per reply and per batch.
 *
 * @returns Milliseconds, comparable with `performance.now()`.
 * @example
 * ```ts
 * const t = clockMs();
 * console.log(Math.abs(performance.now() - t) < 1); // true
 * ```
 */
export function clockMs(): number {
  if (clockOffset === undefined) {
    let gap = Infinity;
    let offset = 0;
    for (let i = 0; i < 8; i++) {
      const before = performance.now();
      const mono = monotonicMs();
      const after = performance.now();
      if (after - before < gap) {
        gap = after - before;
        offset = (before + after) / 2 - mono;
      }
    }
    clockOffset = offset;
  }
  return monotonicMs() + clockOffset;
}
