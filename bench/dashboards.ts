/**
 * Dashboards held open against a service: the load of the `dashboards` cost pair.
 *
 * @module
 */

/** How long the dashboards may take to receive their first update, ms. */
const FIRST_UPDATE_MS = 5000;

/**
 * Open `count` dashboards' event streams and wait until each has its first update.
 *
 * @param metricsAddr The service's HTTP endpoint.
 * @param count How many.
 * @returns The updates received so far, and a function closing them all.
 * @throws {Error} When one fails or gets no update within 5 s.
 * @example
 * ```ts
 * const dashboards = await openDashboards("127.0.0.1:9090", 10);
 * await dashboards.close();
 * ```
 */
export async function openDashboards(
  metricsAddr: string,
  count: number,
): Promise<{ updates(): number; close(): Promise<void> }> {
  const controller = new AbortController();
  let updates = 0;
  const firsts: Promise<void>[] = [];
  const readers: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const first = Promise.withResolvers<void>();
    firsts.push(first.promise);
    readers.push(
      (async () => {
        const res = await fetch(`http://${metricsAddr}/events`, { signal: controller.signal });
        if (!res.ok || res.body === null) throw new Error(`GET /events answered ${res.status}`);
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          const n = chunk.match(/^data:/gm)?.length ?? 0;
          updates += n;
          if (n > 0) first.resolve();
        }
      })().catch((error) => first.reject(error)),
    );
  }
  const close = async () => {
    controller.abort();
    await Promise.allSettled(readers);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(firsts),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no update within 5 s")), FIRST_UPDATE_MS);
      }),
    ]);
  } catch (error) {
    await close();
    throw new Error(`Cannot open ${count} dashboards on ${metricsAddr}: ${error}`);
  } finally {
    clearTimeout(timer);
  }
  return { updates: () => updates, close };
}
