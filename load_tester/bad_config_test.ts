import { type BadConfigCase, badConfigTests } from "@monkey/testing/bad-config";
import { loadTestConfig } from "./config.ts";

const LOAD_TEST_CASES: BadConfigCase[] = [
  {
    name: "target without port",
    file: `target_addr = "3000"`,
    expect: /'target_addr' in .*expected host:port, got '3000'/,
  },
  {
    name: "zero connections",
    file: `connections = 0`,
    expect: /'connections' in .*>= 1.*got 0/,
  },
  {
    name: "duration as a word",
    file: `duration_secs = "forever"`,
    expect: /'duration_secs' in .*duration.*got 'forever'/,
  },
  {
    name: "size with a unit from space",
    file: `message_size = "1 parsec"`,
    expect: /'message_size' in .*size.*got '1 parsec'/,
  },
  {
    name: "unknown mode",
    file: `mode = "telepathy"`,
    expect: /'mode' in .*expected one of 'pingpong', 'churn', got 'telepathy'/,
  },
  {
    name: "unknown format",
    file: `format = "pdf"`,
    expect: /'format' in .*expected one of 'table', .*got 'pdf'/,
  },
  {
    name: "negative rate",
    file: `rate = -1`,
    expect: /'rate' in .*>= 0.*got -1/,
  },
  {
    name: "too many workers",
    file: `workers = 100000`,
    expect: /'workers' in .*<= 256.*got 100000/,
  },
  {
    name: "scenario with a bad value",
    file: `[[scenarios]]\nname = "a"\nconnections = "many"`,
    expect: /'scenarios\[0\]\.connections' in .*expected an integer, got 'many'/,
  },
  {
    name: "scenario with an unknown key",
    file: `[[scenarios]]\nname = "a"\nconections = 5`,
    expect: /Unknown key 'scenarios\[0\]\.conections' in .*got 5/,
  },
  {
    name: "connections flag",
    args: ["--connections=-5"],
    expect: /flag --connections: expected a value >= 1 and <= 100000, got '-5'/,
  },
  {
    name: "short flag with a negative value",
    args: ["-c", "-5"],
    expect:
      /flag --connections: a value starting with '-' must be written --connections=-5, got '-5'/,
  },
  {
    name: "duration flag",
    args: ["--duration", "10 parsecs"],
    expect: /flag --duration: .*got '10 parsecs'/,
  },
];

badConfigTests({
  service: "load tester",
  load: (args) => loadTestConfig(args),
  cases: LOAD_TEST_CASES,
  serviceKeys: false,
  command: [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-sys",
    "--allow-env",
    "load_tester/main.ts",
  ],
  exitCases: ["unknown mode", "scenario with a bad value", "missing file", "unknown flag"],
});
