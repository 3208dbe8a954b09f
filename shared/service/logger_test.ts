import assert from "node:assert/strict";
import { Logger, memorySink, ThrottledLog } from "./logger.ts";

Deno.test("Logger writes levelled lines at or above its level", () => {
  const { sink, lines } = memorySink();
  const log = new Logger({ name: "proxy", level: "info", sink });
  log.debug("hidden");
  log.info("shown");
  log.error("bad");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z INFO {2}proxy: shown$/);
  assert.match(lines[1]!, /ERROR proxy: bad$/);
  assert.equal(log.enabled("debug"), false);
});

Deno.test("ThrottledLog folds repeats within its interval into the next line", () => {
  const { sink, lines } = memorySink();
  const throttled = new ThrottledLog(new Logger({ sink }), 0);
  const slow = new ThrottledLog(new Logger({ sink }), 60_000);
  for (let i = 0; i < 5; i++) slow.warn("refused", "cannot connect");
  assert.equal(lines.length, 1);
  throttled.warn("x", "a");
  throttled.warn("x", "b");
  assert.equal(lines.length, 3);
});

Deno.test("ThrottledLog remembers at most maxKeys kinds, forgetting the one reported longest ago", () => {
  const { sink, lines } = memorySink();
  const throttled = new ThrottledLog(new Logger({ sink }), 60_000, { maxKeys: 3 });
  for (let i = 0; i < 100; i++) throttled.warn(`backend:10.0.0.${i}:80`, `backend ${i} down`);
  assert.equal(throttled.size, 3, "bounded");
  assert.equal(lines.length, 100);
  throttled.warn("backend:10.0.0.99:80", "again"); // remembered: suppressed
  assert.equal(lines.length, 100);
  throttled.warn("backend:10.0.0.0:80", "back"); // forgotten long ago: logged at once
  assert.equal(lines.length, 101);
  assert.equal(throttled.size, 3);
});
