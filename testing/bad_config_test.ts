import assert from "node:assert/strict";
import { badConfigProblems, GENERIC_BAD_CONFIGS, SERVICE_BAD_CONFIGS } from "./bad_config.ts";
import { commonFields } from "@monkey/shared";
import { ConfigError, loadConfig } from "@monkey/shared";
import { requires } from "./permissions.ts";

const SCHEMA = { ...commonFields("127.0.0.1:9999") } as const;

Deno.test(
  "badConfigProblems() passes a loader that rejects every shared case properly",
  requires("read", "write"),
  async () => {
    const cases = [...GENERIC_BAD_CONFIGS, ...SERVICE_BAD_CONFIGS];
    assert.deepEqual(await badConfigProblems((args) => loadConfig(SCHEMA, { args }), cases), []);
  },
);

Deno.test(
  "badConfigProblems() reports accepted input, other errors, extra lines and a missing file name",
  requires("read", "write"),
  async () => {
    const problems = await badConfigProblems((args) => {
      const config = loadConfig(SCHEMA, { args }).config;
      if (config.log_level === "debug") throw new Error("boom");
      if (config.log_level === "warn") throw new ConfigError("Cannot parse:\n  two lines");
      if (config.log_level === "error") throw new ConfigError("Cannot parse 'log_level': bad");
      return config;
    }, [
      { name: "valid", file: `grace_period_secs = 1`, expect: /x/ },
      { name: "crash", file: `log_level = "debug"`, expect: /x/ },
      { name: "two lines", file: `log_level = "warn"`, expect: /two/ },
      { name: "no file", file: `log_level = "error"`, expect: /log_level/ },
    ]);
    assert.equal(problems.length, 4, problems.join("\n"));
    assert.match(problems[0]!, /^valid: accepted$/);
    assert.match(problems[1]!, /^crash: threw Error: boom instead of a ConfigError$/);
    assert.match(problems[2]!, /^two lines: more than one line/);
    assert.match(problems[3]!, /^no file: does not name the file/);
  },
);
