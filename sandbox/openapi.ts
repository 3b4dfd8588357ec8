/**
 * LINE's own OpenAPI specs (../shared/line-openapi/) as the sandbox's contract: loads them once,
 * indexes operations by operationId, and compiles ajv validators for request bodies, query
 * parameters and responses.
 *
 * The specs model message types with `discriminator` + `allOf` back-references (TextMessage is
 * `allOf: [Message, …]` while Message maps `type: text` to TextMessage), which plain JSON Schema
 * cannot express without recursion. `rewriteDiscriminators` turns every such base schema into
 * "base properties + dispatch on the discriminator property to the mapped schema", and points the
 * mapped schemas' back-references at the base properties only.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export interface LineErrorDetail {
  message: string;
  property: string;
}

export interface QueryParameter {
  name: string;
  required: boolean;
  schema: Record<string, unknown>;
}

export interface Operation {
  operationId: string;
  /** Which spec file it comes from, e.g. 'messaging-api'. */
  spec: string;
  method: string;
  /** Path template, e.g. /v2/bot/profile/{userId}. */
  path: string;
  queryParameters: QueryParameter[];
  headerParameters: string[];
  /** JSON schema reference of the request body, if any. */
  requestBodyRef?: string;
  /** status code → schema reference; undefined schema when the response has no JSON body. */
  responses: Map<string, string | undefined>;
}

type Json = Record<string, unknown>;

const SPEC_FILES = ['messaging-api', 'insight', 'manage-audience', 'liff', 'channel-access-token'] as const;

/** Finds ../shared/line-openapi relative to the repository root (or LINE_OPENAPI_DIR). */
export function lineOpenApiDir(): string {
  const fromEnv = process.env.LINE_OPENAPI_DIR;
  if (fromEnv) return fromEnv;
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const candidates = [join(repoRoot, '..', 'shared', 'line-openapi'), join(repoRoot, 'shared', 'line-openapi')];
  for (const dir of candidates) if (existsSync(join(dir, 'messaging-api.yml'))) return dir;
  throw new Error(`LINE OpenAPI specs not found (looked in ${candidates.join(', ')}); set LINE_OPENAPI_DIR`);
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

const SCHEMA_PREFIX = '#/components/schemas/';

/** Rewrites discriminator schemas (see the module comment). Mutates `schemas`. */
export function rewriteDiscriminators(schemas: Record<string, Json>): void {
  const bases = Object.entries(schemas).filter(([, s]) => isObject(s.discriminator));
  for (const [name, schema] of bases) {
    const discriminator = schema.discriminator as { propertyName: string; mapping?: Record<string, string> };
    const mapping = discriminator.mapping ?? {};
    const baseName = `${name}__base`;
    const { discriminator: _ignored, ...baseSchema } = schema;
    schemas[baseName] = baseSchema;
    const prop = discriminator.propertyName;
    const dispatch: Json[] = Object.entries(mapping).map(([value, ref]) => ({
      if: { properties: { [prop]: { const: value } }, required: [prop] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: { $ref: ref },
    }));
    schemas[name] = {
      allOf: [
        { $ref: SCHEMA_PREFIX + baseName },
        { required: [prop], properties: { [prop]: { type: 'string', enum: Object.keys(mapping) } } },
        ...dispatch,
      ],
    };
    for (const ref of new Set(Object.values(mapping))) {
      const target = schemas[ref.slice(SCHEMA_PREFIX.length)];
      if (!target || !Array.isArray(target.allOf)) continue;
      target.allOf = (target.allOf as Json[]).map((part) =>
        part.$ref === SCHEMA_PREFIX + name ? { $ref: SCHEMA_PREFIX + baseName } : part,
      );
    }
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Formats the specs use that JSON Schema does not define. */
function addOpenApiFormats(ajv: Ajv): void {
  const int32 = {
    type: 'number' as const,
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  };
  ajv.addFormat('int32', int32);
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('binary', () => true);
  ajv.addFormat('JPEG or PNG', () => true);
  ajv.addFormat('^[0-9]{8}$', /^[0-9]{8}$/);
}

function newAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    verbose: true,
    coerceTypes,
    discriminator: false,
  });
  addFormats(ajv);
  addOpenApiFormats(ajv);
  return ajv;
}

interface Contract {
  operations: Map<string, Operation>;
  bodyAjv: Ajv;
  queryAjv: Ajv;
  requestValidators: Map<string, ValidateFunction>;
  queryValidators: Map<string, ValidateFunction>;
  responseValidators: Map<string, ValidateFunction>;
}

let contract: Contract | undefined;

function load(): Contract {
  if (contract) return contract;
  const dir = lineOpenApiDir();
  const bodyAjv = newAjv(false);
  const queryAjv = newAjv(true);
  const operations = new Map<string, Operation>();
  for (const spec of SPEC_FILES) {
    const doc = parseYaml(readFileSync(join(dir, `${spec}.yml`), 'utf8')) as Json;
    const components = (doc.components ?? {}) as Json;
    const schemas = structuredClone((components.schemas ?? {}) as Record<string, Json>);
    rewriteDiscriminators(schemas);
    const schemaDoc = { $id: `line:${spec}`, components: { schemas } };
    bodyAjv.addSchema(structuredClone(schemaDoc));
    queryAjv.addSchema(structuredClone(schemaDoc));
    indexOperations(spec, doc, operations);
  }
  contract = {
    operations,
    bodyAjv,
    queryAjv,
    requestValidators: new Map(),
    queryValidators: new Map(),
    responseValidators: new Map(),
  };
  return contract;
}

function qualify(spec: string, ref: string): string {
  return ref.startsWith('#') ? `line:${spec}${ref}` : ref;
}

function indexOperations(spec: string, doc: Json, into: Map<string, Operation>): void {
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  for (const [path, item] of Object.entries(paths)) {
    const shared = (item.parameters ?? []) as Json[];
    for (const method of ['get', 'post', 'put', 'delete']) {
      const op = item[method] as Json | undefined;
      if (!op || typeof op.operationId !== 'string') continue;
      const params = [...shared, ...((op.parameters ?? []) as Json[])];
      const bodySchema = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as
        | Json
        | undefined;
      const bodyRef = (bodySchema?.schema as Json | undefined)?.$ref as string | undefined;
      const responses = new Map<string, string | undefined>();
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
        const json = (response.content as Json | undefined)?.['application/json'] as Json | undefined;
        const ref = (json?.schema as Json | undefined)?.$ref as string | undefined;
        responses.set(status, ref ? qualify(spec, ref) : undefined);
      }
      into.set(op.operationId, {
        operationId: op.operationId,
        spec,
        method: method.toUpperCase(),
        path,
        queryParameters: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: String(p.name), required: p.required === true, schema: (p.schema ?? {}) as Json })),
        headerParameters: params.filter((p) => p.in === 'header').map((p) => String(p.name).toLowerCase()),
        requestBodyRef: bodyRef ? qualify(spec, bodyRef) : undefined,
        responses,
      });
    }
  }
}

export function operations(): ReadonlyMap<string, Operation> {
  return load().operations;
}

export function operation(operationId: string): Operation {
  const op = load().operations.get(operationId);
  if (!op) throw new Error(`unknown operationId ${operationId}`);
  return op;
}

function requestValidator(operationId: string): ValidateFunction | undefined {
  const c = load();
  const op = operation(operationId);
  if (!op.requestBodyRef) return undefined;
  let v = c.requestValidators.get(operationId);
  if (!v) {
    v = c.bodyAjv.compile({ $ref: op.requestBodyRef });
    c.requestValidators.set(operationId, v);
  }
  return v;
}

function queryValidator(operationId: string): ValidateFunction {
  const c = load();
  let v = c.queryValidators.get(operationId);
  if (!v) {
    const op = operation(operationId);
    const properties: Json = {};
    for (const p of op.queryParameters) properties[p.name] = p.schema;
    v = c.queryAjv.compile({
      type: 'object',
      properties,
      required: op.queryParameters.filter((p) => p.required).map((p) => p.name),
    });
    c.queryValidators.set(operationId, v);
  }
  return v;
}

/**
 * Validates a request body against the operation's schema; returns LINE-shaped error details
 * (empty when valid). Operations without a request body accept anything.
 */
export function validateRequest(operationId: string, body: unknown): LineErrorDetail[] {
  const v = requestValidator(operationId);
  if (!v) return [];
  if (v(body)) return [];
  return toLineDetails(v.errors ?? []);
}

/**
 * Validates query parameters (strings as received; integers are coerced in place on the
 * object passed in). Returns LINE-shaped details, property = parameter name.
 */
export function validateQuery(operationId: string, query: Record<string, unknown>): LineErrorDetail[] {
  const v = queryValidator(operationId);
  if (v(query)) return [];
  // One problem per parameter, as LINE reports it.
  const seen = new Set<string>();
  return toLineDetails(v.errors ?? []).filter((d) => !seen.has(d.property) && seen.add(d.property));
}

/**
 * Validates a response body against the spec for this status. Statuses the operation does not
 * list are checked against the spec's ErrorResponse when ≥ 400. Returns readable problems, empty
 * when the response conforms.
 */
export function validateResponse(operationId: string, status: number, body: unknown): string[] {
  const c = load();
  const op = operation(operationId);
  const key = String(status);
  let ref: string | undefined;
  if (op.responses.has(key)) ref = op.responses.get(key);
  else if (status >= 400) ref = `line:${op.spec}#/components/schemas/ErrorResponse`;
  else return [`status ${status} is not a documented response of ${operationId}`];
  if (!ref) return [];
  const cacheKey = ref;
  let v = c.responseValidators.get(cacheKey);
  if (!v) {
    v = c.bodyAjv.compile({ $ref: ref });
    c.responseValidators.set(cacheKey, v);
  }
  if (v(body)) return [];
  return toLineDetails(v.errors ?? []).map((d) => `${d.property || '(root)'}: ${d.message}`);
}

/** ajv instance path (/messages/0/text) → LINE property (messages[0].text). */
export function lineProperty(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

function describe(error: ErrorObject): LineErrorDetail | undefined {
  const p = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Json;
  const property = lineProperty(error.instancePath);
  switch (error.keyword) {
    case 'if':
    case 'allOf':
      return undefined;
    case 'required':
      return { message: 'must be specified', property: lineProperty(error.instancePath, String(p.missingProperty)) };
    case 'minItems':
    case 'maxItems':
      return {
        message: `Size must be between ${Number(parent.minItems ?? 0)} and ${Number(parent.maxItems ?? 2147483647)}`,
        property,
      };
    case 'minLength':
    case 'maxLength':
      return {
        message: `Length must be between ${Number(parent.minLength ?? 0)} and ${Number(parent.maxLength ?? 2147483647)}`,
        property,
      };
    case 'minimum':
      return { message: `must be greater than or equal to ${String(p.limit)}`, property };
    case 'maximum':
      return { message: `must be less than or equal to ${String(p.limit)}`, property };
    case 'enum':
      return { message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`, property };
    case 'type':
      return { message: `must be ${String(p.type)}`, property };
    case 'format':
      return { message: `must be a valid ${String(p.format)}`, property };
    case 'pattern':
      return { message: `must match ${String(p.pattern)}`, property };
    default:
      return { message: error.message ?? 'invalid', property };
  }
}

function toLineDetails(errors: readonly ErrorObject[]): LineErrorDetail[] {
  const seen = new Set<string>();
  const out: LineErrorDetail[] = [];
  for (const e of errors) {
    const d = describe(e);
    if (!d) continue;
    const key = `${d.property}\u0000${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}
