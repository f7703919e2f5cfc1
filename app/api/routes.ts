// The public JSON API (/api/v1). Per-firm API keys arrive with the API issue; until then every
// path answers a JSON 404 so clients never see an HTML page.
import { Hono } from "hono";

export const api = new Hono<{ Bindings: Env }>();

api.all("*", (c) => c.json({ error: "Not found" }, 404));
