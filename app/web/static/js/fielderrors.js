// @ts-check
/* API errors in words people use. A 400 VALIDATION_ERROR carries per-field
 * details ({field, type, message}); they are mapped to sentences here, so
 * "Input should be less than or equal to 2147483647" never reaches anyone. */
import { errorCode } from "./api.js";
import { t } from "./i18n.js";

const FIELD_TYPES = {
  title: {
    string_too_long: "field.title.long",
    string_too_short: "field.title.empty",
    value_error: "field.title.empty",
    missing: "field.title.empty",
  },
  name: {
    string_too_long: "field.name.long",
    string_too_short: "field.name.empty",
    value_error: "field.name.empty",
    missing: "field.name.empty",
  },
  max_participants: {
    less_than_equal: "field.max.huge",
    greater_than_equal: "field.max.small",
    int_type: "field.max.whole",
    int_parsing: "field.max.whole",
  },
  user_id: {
    string_too_long: "field.user.long",
    value_error: "field.user.empty",
    string_too_short: "field.user.empty",
  },
  role: { literal_error: "field.role" },
};

/* {field: sentence} for a 400 VALIDATION_ERROR answer; empty for anything else. */
export function fieldErrors(res) {
  const out = {};
  if (errorCode(res) !== "VALIDATION_ERROR") return out;
  for (const detail of res.data.error.details || []) {
    const field = String(detail.field || "").split(".").pop();
    const key = (FIELD_TYPES[field] || {})[detail.type];
    out[field] = key ? t(key) : t("field.generic");
  }
  return out;
}

/* One sentence for any failed answer. */
export function errorText(res, fallbackKey) {
  if (res.networkError) return t(res.timedOut ? "error.timeout" : "error.network");
  const code = errorCode(res);
  const known = code ? t("error." + code) : null;
  if (known && known !== "error." + code) return known;
  if (res.status >= 500) return t("error.server");
  return t(fallbackKey || "error.generic");
}

export function firstFieldError(res) {
  const errors = fieldErrors(res);
  const keys = Object.keys(errors);
  return keys.length ? errors[keys[0]] : null;
}
