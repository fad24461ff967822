import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { StartupError } from "../operator-error.js";

/** A listening HTTP server: the port it got, and a close that ends open connections too. */
export type Listening = { port: number; close(): Promise<void> };

/**
 * Serves `app` with @hono/node-server on `host:port` (port 0 picks a free one).
 *
 * @throws StartupError when the address cannot be bound (port taken, no permission).
 */
export function listen(app: Hono, host: string, port: number): Promise<Listening> {
  return new Promise<Listening>((resolve, reject) => {
    let server: ServerType | undefined;
    server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      const bound = server as ServerType;
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((closed) => {
            bound.close(() => closed());
            if ("closeAllConnections" in bound) bound.closeAllConnections();
          }),
      });
    });
    server.once("error", (err: Error) =>
      reject(new StartupError(`cannot listen on ${host}:${port}: ${err.message}`)),
    );
  });
}
