import assert from "node:assert/strict";
import { GENERIC_HTTP_PROBES, type HttpProbe, httpProbeProblems } from "@monkey/testing/bad-http";
import { startLoadBalancer } from "./balancer.ts";

const TOKEN = "endpoint-test-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const BACKEND = "127.0.0.1:1";

function post(body: string, headers: Record<string, string> = AUTH): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body };
}

const ADMIN_PROBES: HttpProbe[] = [
  { name: "malformed JSON", path: "/backends", init: post("{"), status: 400 },
  { name: "JSON array body", path: "/backends", init: post("[]"), status: 400 },
  { name: "JSON string body", path: "/backends", init: post('"x"'), status: 400 },
  { name: "empty body", path: "/backends", init: post(""), status: 400 },
  {
    name: "address without port",
    path: "/backends",
    init: post(JSON.stringify({ addr: "nowhere" })),
    status: 400,
  },
  {
    name: "bad IPv6 address",
    path: "/backends",
    init: post(JSON.stringify({ addr: "[::g]:80" })),
    status: 400,
  },
  {
    name: "address as a number",
    path: "/backends",
    init: post(JSON.stringify({ addr: 8081 })),
    status: 400,
  },
  {
    name: "weight out of range",
    path: "/backends",
    init: post(JSON.stringify({ addr: "127.0.0.1:2", weight: 1e308 })),
    status: 400,
  },
  {
    name: "unknown field",
    path: "/backends",
    init: post(JSON.stringify({ addr: "127.0.0.1:2", colour: "red" })),
    status: 400,
  },
  {
    name: "oversized body",
    path: "/backends",
    init: post(JSON.stringify({ addr: "x".repeat(70_000) })),
    status: 413,
  },
  {
    name: "oversized body streamed without a length",
    path: "/backends",
    init: {
      method: "POST",
      headers: AUTH,
      body: new ReadableStream({
        pull(controller) {
          controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
        },
      }),
    },
    status: 413,
  },
  {
    name: "declared oversized length",
    path: "/backends",
    init: post("{}", { ...AUTH, "content-length": String(10 * 1024 * 1024) }),
    status: 413,
  },
  {
    name: "PATCH with a string weight",
    path: `/backends/${BACKEND}`,
    init: { method: "PATCH", headers: AUTH, body: JSON.stringify({ weight: "3" }) },
    status: 400,
  },
  {
    name: "PATCH malformed address",
    path: "/backends/%zz",
    init: { method: "PATCH", headers: AUTH, body: "{}" },
    status: 400,
  },
  {
    name: "drain unknown backend",
    path: "/backends/127.0.0.1:9/drain",
    init: { method: "POST", headers: AUTH },
    status: 404,
  },
  { name: "PUT /backends", path: "/backends", init: { method: "PUT", headers: AUTH }, status: 405 },
  { name: "GET one backend", path: `/backends/${BACKEND}`, status: 405 },
  {
    name: "mutation without a token",
    path: "/backends",
    init: post(JSON.stringify({ addr: "127.0.0.1:2" }), {}),
    status: 401,
  },
  {
    name: "mutation with a wrong token",
    path: `/backends/${BACKEND}/drain`,
    init: { method: "POST", headers: { authorization: "Bearer wrong" } },
    status: 401,
  },
  { name: "GET /backends", path: "/backends", status: 200 },
];

Deno.test("load balancer endpoint: 404, 405, 400 for malformed JSON and addresses, 413 for big bodies, never a 500", async () => {
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    admin_token: TOKEN,
    health_check: { interval_ms: 0 },
    backends: [{ addr: BACKEND }],
  });
  try {
    assert.deepEqual(
      await httpProbeProblems(lb.app, [...GENERIC_HTTP_PROBES, ...ADMIN_PROBES]),
      [],
    );
    assert.equal(lb.backends.list().length, 1, "no probe changed the backends");
    assert.equal(lb.backends.get(BACKEND)!.draining, false);
  } finally {
    await lb.shutdown(0);
  }
});

Deno.test("load balancer admin mutations are refused (403) when no admin_token is set", async () => {
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    health_check: { interval_ms: 0 },
    backends: [{ addr: BACKEND }],
  });
  try {
    const refused: HttpProbe[] = [
      ["POST", "/backends", JSON.stringify({ addr: "127.0.0.1:2" })],
      ["PATCH", `/backends/${BACKEND}`, JSON.stringify({ weight: 2 })],
      ["POST", `/backends/${BACKEND}/drain`, undefined],
      ["POST", `/backends/${BACKEND}/enable`, undefined],
      ["DELETE", `/backends/${BACKEND}`, undefined],
    ].map(([method, path, body]) => ({
      name: `${method} ${path} without a configured token`,
      path: path!,
      init: {
        method: method!,
        headers: { authorization: "Bearer anything" },
        ...(body ? { body } : {}),
      },
      status: 403,
    }));
    assert.deepEqual(await httpProbeProblems(lb.app, refused), []);
    assert.equal(lb.backends.list().length, 1);
    assert.equal(lb.backends.get(BACKEND)!.weight, 1);
  } finally {
    await lb.shutdown(0);
  }
});
