/* The API's types for the web page's modules (static/js), from the generated
 * clients/typescript types (`make contract` regenerates them from openapi.json).
 * Outside static/: the page never loads it. Modules import these names in JSDoc
 * only, e.g.
 *   @param {import("../../api-types").TransactionStatusOut} body
 * and `make contract-check` runs tsc over them, so a renamed or retyped field of
 * the API fails CI here instead of breaking the page in a browser. */
import type { components } from "../../clients/typescript/src/schema.js";

type Schemas = components["schemas"];
export type CatalogOut = Schemas["CatalogOut"];
export type ProductOut = Schemas["ProductOut"];
export type PlanOut = Schemas["PlanOut"];
export type PurchaseIntentOut = Schemas["PurchaseIntentOut"];
export type TransactionStatusOut = Schemas["TransactionStatusOut"];
export type HistoryPageOut = Schemas["HistoryPageOut"];
export type HistoryItemOut = Schemas["HistoryItemOut"];
export type ErrorBody = Schemas["ErrorBody"];
