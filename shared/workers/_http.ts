/**
 * Private: HTTP requests and responses as plain data, to cross the worker boundary.
 *
 * @module
 */

import type { HttpMessage } from "./protocol.ts";

/** A Request or Response as an {@linkcode HttpMessage}. */
export async function toMessage(message: Request | Response): Promise<HttpMessage> {
  const out: HttpMessage = { headers: [...message.headers], body: await message.text() };
  if (message instanceof Request) {
    const url = new URL(message.url);
    out.method = message.method;
    out.url = url.pathname + url.search;
  } else {
    out.status = message.status;
  }
  return out;
}

/** An {@linkcode HttpMessage} request as a Request (the host is a placeholder). */
export function toRequest(message: HttpMessage): Request {
  const { method, url, headers, body } = message;
  const init: RequestInit = { method: method ?? "GET", headers };
  if (body !== "" && method !== "GET" && method !== "HEAD") init.body = body;
  return new Request(`http://worker${url ?? "/"}`, init);
}

/** An {@linkcode HttpMessage} response as a Response. */
export function toResponse(message: HttpMessage): Response {
  return new Response(message.body === "" ? null : message.body, {
    status: message.status ?? 200,
    headers: message.headers,
  });
}
