// The API reference at /api/v1/docs: plain HTML rendered on the server from the OpenAPI document, so it
// needs no script from a CDN (the CSP allows none) and always matches /api/v1/openapi.json.

type Json = unknown;
type SchemaObject = { [key: string]: Json };

function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);
}

/** Inline code in the document's descriptions (`like this`), escaped first. */
function prose(text: unknown): string {
  if (typeof text !== "string" || text === "") return "";
  return escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function refName(ref: string): string {
  return ref.split("/").pop() ?? ref;
}

function anchor(name: string): string {
  return `schema-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** A short type label: `string`, `integer`, `Contact`, `array of ContactSummary`, `"a" | "b"`. */
function typeLabel(schema: SchemaObject | undefined): string {
  if (!schema) return "any";
  if (typeof schema.$ref === "string") {
    const name = refName(schema.$ref);
    return `<a href="#${anchor(name)}">${escapeHtml(name)}</a>`;
  }
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(" | ");
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    if (Array.isArray(schema[key])) return (schema[key] as SchemaObject[]).map(typeLabel).join(key === "allOf" ? " &amp; " : " | ");
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]).join(" | ") : (schema.type as string | undefined);
  if (type === "array") return `array of ${typeLabel(schema.items as SchemaObject | undefined)}`;
  const format = typeof schema.format === "string" ? ` (${escapeHtml(schema.format)})` : "";
  return `${escapeHtml(type ?? "object")}${format}`;
}

function constraints(schema: SchemaObject): string {
  const parts: string[] = [];
  if (typeof schema.minLength === "number") parts.push(`at least ${schema.minLength} characters`);
  if (typeof schema.maxLength === "number") parts.push(`at most ${schema.maxLength} characters`);
  if (typeof schema.minimum === "number") parts.push(`≥ ${schema.minimum}`);
  if (typeof schema.maximum === "number") parts.push(`≤ ${schema.maximum}`);
  if (typeof schema.pattern === "string") parts.push(`matches <code>${escapeHtml(schema.pattern)}</code>`);
  return parts.join(", ");
}

function propertiesTable(schema: SchemaObject): string {
  const properties = schema.properties as Record<string, SchemaObject> | undefined;
  if (!properties) return `<p>${typeLabel(schema)}</p>`;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties).map(([name, property]) => {
    const nested = property.properties ? `<details><summary>fields</summary>${propertiesTable(property)}</details>` : "";
    const notes = [prose(property.description), constraints(property)].filter(Boolean).join(" ");
    return `<tr><td><code>${escapeHtml(name)}</code></td><td>${typeLabel(property)}</td><td>${required.has(name) ? "yes" : "no"}</td><td>${notes}${nested}</td></tr>`;
  });
  const extra = schema.additionalProperties === false ? "<p>Other fields are refused.</p>" : "";
  return `<table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Notes</th></tr></thead><tbody>${rows.join("")}</tbody></table>${extra}`;
}

function jsonSchemaOf(content: unknown): SchemaObject | undefined {
  const media = (content as Record<string, { schema?: SchemaObject }> | undefined)?.["application/json"];
  return media?.schema;
}

function operationHtml(method: string, path: string, operation: SchemaObject): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
  const parts = [`<section aria-labelledby="${id}"><h3 id="${id}"><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h3>`];
  if (operation.summary) parts.push(`<p><strong>${prose(operation.summary)}</strong></p>`);
  if (operation.description) parts.push(`<p>${prose(operation.description)}</p>`);
  const parameters = (operation.parameters as SchemaObject[] | undefined) ?? [];
  if (parameters.length > 0) {
    const rows = parameters.map((p) => {
      const schema = p.schema as SchemaObject | undefined;
      const notes = [prose(p.description ?? schema?.description), schema ? constraints(schema) : ""].filter(Boolean).join(" ");
      return `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${typeLabel(schema)}</td><td>${p.required ? "yes" : "no"}</td><td>${notes}</td></tr>`;
    });
    parts.push(
      `<h4>Parameters</h4><table><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Notes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
    );
  }
  const body = jsonSchemaOf((operation.requestBody as SchemaObject | undefined)?.content);
  if (body) parts.push(`<h4>Body (application/json)</h4><p>${typeLabel(body)}</p>`);
  const responses = (operation.responses as Record<string, SchemaObject> | undefined) ?? {};
  const rows = Object.entries(responses).map(([status, response]) => {
    const schema = jsonSchemaOf(response.content);
    return `<tr><td>${escapeHtml(status)}</td><td>${prose(response.description)}</td><td>${schema ? typeLabel(schema) : ""}</td></tr>`;
  });
  parts.push(`<h4>Responses</h4><table><thead><tr><th scope="col">Status</th><th scope="col">Meaning</th><th scope="col">Body</th></tr></thead><tbody>${rows.join("")}</tbody></table>`);
  parts.push("</section>");
  return parts.join("\n");
}

export function renderReferencePage(openApi: object): string {
  const document = openApi as SchemaObject;
  const info = (document.info as SchemaObject | undefined) ?? {};
  const servers = (document.servers as SchemaObject[] | undefined) ?? [];
  const paths = (document.paths as Record<string, Record<string, SchemaObject>> | undefined) ?? {};
  const schemas = ((document.components as SchemaObject | undefined)?.schemas as Record<string, SchemaObject> | undefined) ?? {};
  const operations: string[] = [];
  const toc: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!["get", "put", "post", "patch", "delete"].includes(method)) continue;
      const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
      toc.push(`<li><a href="#${id}"><code>${method.toUpperCase()} ${escapeHtml(path)}</code></a> ${prose(operation.summary)}</li>`);
      operations.push(operationHtml(method, path, operation));
    }
  }
  const schemaSections = Object.entries(schemas).map(
    ([name, schema]) =>
      `<section aria-labelledby="${anchor(name)}"><h3 id="${anchor(name)}">${escapeHtml(name)}</h3>${schema.description ? `<p>${prose(schema.description)}</p>` : ""}${propertiesTable(schema)}</section>`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title ?? "API")} reference</title>
</head>
<body>
<main>
<h1>${escapeHtml(info.title ?? "API")} <small>${escapeHtml(info.version ?? "")}</small></h1>
<p>${prose(info.description)}</p>
<p>Base URL: ${servers.map((s) => `<code>${escapeHtml(s.url)}</code>`).join(", ")}. Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p>
<h2>Authentication</h2>
<p>Every endpoint needs a firm API key in the <code>Authorization</code> header: <code>Authorization: Bearer cpk_…</code>. Admins create keys in the firm app at Settings › API keys; a key is shown once. Read keys get <code>403</code> on every write.</p>
<h2>Endpoints</h2>
<ul>${toc.join("")}</ul>
${operations.join("\n")}
<h2>Schemas</h2>
${schemaSections.join("\n")}
</main>
</body>
</html>`;
}
