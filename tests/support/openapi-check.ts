/**
 * Checks API responses against the OpenAPI document (src/api/openapi.ts): the route and status are
 * documented, the content type is, and the JSON body matches the documented schema. A small JSON
 * Schema checker for the keywords the document uses (type with null, required, properties,
 * additionalProperties, items, enum, minimum, pattern, $ref): an unknown keyword fails the check, so
 * the document cannot use one this checker would silently skip.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set(["type", "required", "properties", "additionalProperties", "items", "enum", "minimum", "pattern", "$ref", "description"]);

export function resolveRef(doc: Schema, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs: ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split("/")) {
    node = (node as Record<string, unknown> | undefined)?.[part];
    if (node === undefined) throw new Error(`$ref ${ref} does not resolve`);
  }
  return node as Schema;
}

/** Problems of `value` against `schema` (empty: it matches). */
export function checkSchema(doc: Schema, schema: Schema, value: unknown, path = "$"): string[] {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) return [`${path}: the schema uses ${key}, which this checker does not know`];
  if (typeof schema.$ref === "string") return checkSchema(doc, resolveRef(doc, schema.$ref), value, path);
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const actual = value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value;
    const ok = types.includes(actual) || (actual === "integer" && types.includes("number"));
    if (!ok) return [`${path}: ${actual} is not ${types.join(" or ")}`];
  }
  if (schema.enum !== undefined && !(schema.enum as unknown[]).includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof schema.minimum === "number" && typeof value === "number" && value < schema.minimum) problems.push(`${path}: ${value} < ${schema.minimum}`);
  if (typeof schema.pattern === "string" && typeof value === "string" && !new RegExp(schema.pattern, "u").test(value)) problems.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in object)) problems.push(`${path}: ${key} is missing`);
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [key, item] of Object.entries(object)) {
      if (key in properties) problems.push(...checkSchema(doc, properties[key]!, item, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}: ${key} is not documented`);
      else if (typeof schema.additionalProperties === "object") problems.push(...checkSchema(doc, schema.additionalProperties as Schema, item, `${path}.${key}`));
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => problems.push(...checkSchema(doc, schema.items as Schema, item, `${path}[${i}]`)));
  return problems;
}

/** Problems of one response to `GET path` against the document; the body is given parsed (JSON) or as lines (NDJSON). */
export function checkResponse(doc: Schema, route: string, status: number, contentType: string, body: unknown): string[] {
  const operation = (doc.paths as Record<string, { get?: { responses: Record<string, { content?: Record<string, { schema: Schema }> }> } }>)[route]?.get;
  if (operation === undefined) return [`GET ${route} is not documented`];
  const response = operation.responses[String(status)];
  if (response === undefined) return [`GET ${route} ${status} is not documented`];
  const mediaType = contentType.split(";")[0]!.trim();
  const media = response.content?.[mediaType];
  if (media === undefined) return [`GET ${route} ${status} ${mediaType} is not documented`];
  if (mediaType === "application/x-ndjson") return (body as unknown[]).flatMap((line, i) => checkSchema(doc, media.schema, line, `line ${i + 1}`));
  return checkSchema(doc, media.schema, body);
}

/** Structural checks of the document itself: OpenAPI 3.1, every $ref resolves, every operation has responses. */
export function checkDocument(doc: Schema): string[] {
  const problems: string[] = [];
  if (doc.openapi !== "3.1.0") problems.push(`openapi is ${JSON.stringify(doc.openapi)}, not 3.1.0`);
  const info = doc.info as Schema | undefined;
  if (typeof info?.title !== "string" || typeof info?.version !== "string") problems.push("info.title and info.version are required");
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      if (key === "$ref") {
        try {
          resolveRef(doc, child as string);
        } catch (err) {
          problems.push(`${path}: ${(err as Error).message}`);
        }
      } else walk(child, `${path}/${key}`);
    }
  };
  walk(doc, "#");
  for (const [route, item] of Object.entries(doc.paths as Record<string, Record<string, { responses?: object; parameters?: { name: string; in: string; schema?: object }[] }>>)) {
    if (!route.startsWith("/")) problems.push(`path ${route} does not start with /`);
    for (const [method, op] of Object.entries(item)) {
      if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${method} ${route} has no responses`);
      for (const p of op.parameters ?? []) if (!p.name || !["query", "path", "header", "cookie"].includes(p.in) || !p.schema) problems.push(`${method} ${route}: parameter ${p.name} lacks name, in or schema`);
    }
  }
  return problems;
}
