/**
 * Counting this process's open descriptors, to prove a run leaked none.
 *
 * @module
 */

/** Descriptors left out of {@linkcode openFds}: what spawning `ls` and reading a dir use. */
const PLUMBING = /^(pipe:|anon_inode:\[pidfd\]|\/dev\/null$|gone$|\/proc\/)/;
/** `ls` exits 1 when a descriptor closed between readdir and stat: the listing is still good. */
const LS_PARTIAL = 1;

/**
 * Count this process's open file descriptors (Linux `/proc/self/fd`), leaving out pipes,
 * pidfds and `/dev/null`: the plumbing of counting itself, which varies between calls. Deno
 * grants `/proc/self/fd` only with `--allow-all`; otherwise `ls -l /proc/<pid>/fd` is run
 * (needs `--allow-run`).
 *
 * @returns Sockets, files and other descriptors open now.
 * @throws {Error} When neither way can list the descriptors.
 * @example
 * ```ts
 * const before = await openFds();
 * // ... run and close everything ...
 * assert.ok(await openFds() <= before);
 * ```
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
    if (out.code > LS_PARTIAL) {
      throw new Error(`Cannot list /proc/${Deno.pid}/fd: ls exited with ${out.code}`);
    }
    targets = new TextDecoder().decode(out.stdout).split("\n")
      .filter((line) => line.includes(" -> "))
      .map((line) => line.slice(line.indexOf(" -> ") + 4));
  }
  return targets.filter((t) => !PLUMBING.test(t)).length;
}
