/**
 * A small typed fetch wrapper over the generated `paths` (src/schema.d.ts): the path,
 * its parameters, its body and its answer are all checked against openapi.json.
 * Hand-written; `make contract` regenerates only schema.d.ts.
 */
import type { components, operations, paths, webhooks } from "./schema.js";

export type { components, operations, paths, webhooks };
export type Schemas = components["schemas"];
/** Every failure's body: `{"error": {"code", "message", ...}}`. */
export type ErrorBody = Schemas["ErrorBody"];

export type Method = "get" | "post" | "put" | "patch" | "delete";
type Path = Extract<keyof paths, string>;
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;
/** The paths that have an operation for `M`. */
export type PathsFor<M extends Method> = {
  [P in Path]: [Operation<P, M>] extends [never] ? never : P;
}[Path];

type Json<R> = R extends { content: { "application/json": infer B } } ? B : undefined;
type Success<O> = O extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 | 202 | 204 ? Json<R[S]> : never }[keyof R]
  : never;
type Body<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : never;
type Params<O> = O extends { parameters: infer P } ? P : never;

/** What one operation takes besides its path: typed from the document. */
export interface RequestOptions<O> {
  /** Path parameters, e.g. `{ transaction_id }` for `/api/billing/transactions/{transaction_id}`. */
  path?: Params<O> extends { path?: infer X } ? X : never;
  query?: Params<O> extends { query?: infer X } ? X : never;
  headers?: Params<O> extends { header?: infer X } ? X : never;
  body?: Body<O>;
  /** Per-request timeout (default: the client's). */
  timeoutMs?: number;
}

/** One answer: the success body, or the error envelope's `error`. Never throws for an HTTP status. */
export type ApiResult<O> =
  | { ok: true; status: number; data: Success<O>; headers: Headers }
  | { ok: false; status: number; error: ErrorBody; headers: Headers };

export interface BillingClient {
  get<P extends PathsFor<"get">>(path: P, options?: RequestOptions<Operation<P, "get">>): Promise<ApiResult<Operation<P, "get">>>;
  post<P extends PathsFor<"post">>(path: P, options?: RequestOptions<Operation<P, "post">>): Promise<ApiResult<Operation<P, "post">>>;
  put<P extends PathsFor<"put">>(path: P, options?: RequestOptions<Operation<P, "put">>): Promise<ApiResult<Operation<P, "put">>>;
  patch<P extends PathsFor<"patch">>(path: P, options?: RequestOptions<Operation<P, "patch">>): Promise<ApiResult<Operation<P, "patch">>>;
  delete<P extends PathsFor<"delete">>(path: P, options?: RequestOptions<Operation<P, "delete">>): Promise<ApiResult<Operation<P, "delete">>>;
}

export interface ClientOptions {
  /** e.g. `https://billing.example.kz` (no trailing slash needed). */
  baseUrl: string;
  /** A Bearer JWT, or a function asked before each request (a token that rotates). */
  token?: string | null | (() => string | null | undefined);
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Another fetch (tests, a runtime without a global one). */
  fetch?: typeof fetch;
}

export function createBillingClient(options: ClientOptions): BillingClient;
