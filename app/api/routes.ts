// The public JSON API. /api/v1 is the versioned API (v1.ts); every other path under /api answers a
// JSON 404 so clients never see an HTML page.
import { Hono } from "hono";
import { apiError } from "./errors";
import { v1 } from "./v1";

export const api = new Hono<{ Bindings: Env }>();

api.route("/v1", v1);
api.all("*", (c) => c.json(apiError("not_found", "No such endpoint. The API lives under /api/v1 (reference: /api/v1/docs)."), 404));
