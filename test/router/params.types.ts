/**
 * Compile-time checks (run by `npm run typecheck`): a route's `params` are
 * typed from its pattern, and the router is a handler serve/attach take.
 */
import { attach, route, serve, type Router } from "../../src/index.js";

export function typed(): Router {
  const router = route({
    "/": (_ws, { params }) => {
      // @ts-expect-error: "/" has no parameter.
      void params.room;
    },
    "/rooms/:room": (_ws, { params, query }) => {
      const room: string = params.room;
      const nick: string | null = query.get("nick");
      // @ts-expect-error: no :user in this pattern.
      void params.user;
      return [room, nick];
    },
    "/a/:x/b/:y": {
      handler: (_ws, { params }) => params.x + params.y,
      processRequest: (conn, _request, { params }) => (params.x === "no" ? conn.respond(403) : undefined),
    },
    "/files/*": (_ws, { params }) => params["*"],
  });
  void serve(router, { port: 0 });
  attach(null, router);
  return router;
}
