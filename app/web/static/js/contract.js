// @ts-check
/* The API's types for the page's modules, from the generated clients/typescript types
 * (`make contract` regenerates them from openapi.json). The page never loads this
 * file: modules import these names in JSDoc only, e.g.
 *   @param {import("./contract.js").TransactionStatusOut} body
 * and `make contract-check` runs tsc over them, so a renamed or retyped field of
 * the API fails CI here instead of breaking the page in a browser. */

/** @typedef {import("../../../../clients/typescript/src/schema").components["schemas"]} Schemas */
/** @typedef {Schemas["CatalogOut"]} CatalogOut */
/** @typedef {Schemas["ProductOut"]} ProductOut */
/** @typedef {Schemas["PlanOut"]} PlanOut */
/** @typedef {Schemas["PurchaseIntentOut"]} PurchaseIntentOut */
/** @typedef {Schemas["TransactionStatusOut"]} TransactionStatusOut */
/** @typedef {Schemas["HistoryPageOut"]} HistoryPageOut */
/** @typedef {Schemas["HistoryItemOut"]} HistoryItemOut */
/** @typedef {Schemas["ErrorBody"]} ErrorBody */

export {};
