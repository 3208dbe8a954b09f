import { loadConfig } from "@monkey/shared";
import { type BadConfigCase, badConfigTests } from "@monkey/testing/bad-config";
import { ECHO_SCHEMA } from "./config.ts";

const ECHO_CASES: BadConfigCase[] = [
  {
    name: "listen address without host",
    file: `listen_addr = "8081"`,
    expect: /'listen_addr' in .*expected host:port, got '8081'/,
  },
  {
    name: "listen port out of range",
    file: `listen_addr = "127.0.0.1:65536"`,
    expect: /'listen_addr' in .*port number 0-65535, got '127\.0\.0\.1:65536'/,
  },
  {
    name: "unbracketed IPv6",
    file: `listen_addr = "::1:8081"`,
    expect: /'listen_addr' in .*brackets.*got '::1:8081'/,
  },
  {
    name: "listen address as a number",
    file: `listen_addr = 8081`,
    expect: /'listen_addr' in .*host:port.*got 8081/,
  },
  {
    name: "fractional max_connections",
    file: `max_connections = 1.5`,
    expect: /'max_connections' in .*expected an integer, got 1\.5/,
  },
  {
    name: "negative max_connections",
    file: `max_connections = -1`,
    expect: /'max_connections' in .*>= 0.*got -1/,
  },
  {
    name: "idle timeout as text",
    file: `idle_timeout_secs = "soon"`,
    expect: /'idle_timeout_secs' in .*expected a number, got 'soon'/,
  },
  {
    name: "listen flag with a bare IPv6",
    args: ["--listen", "[::1]"],
    expect: /flag --listen-addr: expected \[ipv6\]:port, got '\[::1\]'/,
  },
];

badConfigTests({
  service: "echo",
  load: (args) => loadConfig(ECHO_SCHEMA, { args }),
  cases: ECHO_CASES,
  command: ["run", "--allow-net", "--allow-read", "echo/main.ts"],
  exitCases: ["unknown key", "binary garbage", "missing file", "unknown flag", "unbracketed IPv6"],
});
