// @ts-check
/* The paywall's words: its title, what is being bought, and why (from a 402 answer). */
import { plan as planById, planTitle } from "./catalog.js";
import { formatNumber, t } from "./i18n.js";

/* From the club page a plan is chosen; from an event's paywall, publishing is unlocked. */
export function titleFor(item) {
  if (item && item.kind === "club") return t("paywall.titlePlan");
  return t(item && typeof item.resize === "number" ? "paywall.titleEnlarge" : "paywall.title");
}

export function subjectText(item) {
  if (!item) return "";
  if (item.kind === "club") return t("paywall.subject.club", { club: item.club.name });
  const e = item.event;
  const size = e.max_participants === null ? t("event.unlimited")
    : t("event.upTo", { n: e.max_participants, size: formatNumber(e.max_participants) });
  return item.club ? t("paywall.subject.clubEvent", { title: e.title, size, club: item.club.name })
    : t("paywall.subject.event", { title: e.title, size });
}

export function messageText(item, error) {
  if (!error) return item.kind === "club" ? t("paywall.choosePlan") : "";
  const meta = error.meta || {};
  const current = planById(error.current_plan_id);
  const vars = {
    plan: planTitle(current),
    limit: meta.plan_limit === null || meta.plan_limit === undefined
      ? t("limit.none") : meta.plan_limit,
    n: meta.requested_participants === null || meta.requested_participants === undefined
      ? t("limit.none") : meta.requested_participants,
    free: meta.free_limit,
    ceiling: meta.credit_ceiling,
    club: item.club ? item.club.name : "",
    status: meta.subscription_status ? t("sub." + meta.subscription_status) : "",
  };
  const key = "reason." + error.reason;
  const text = t(key, vars);
  return text === key ? error.message : text;
}
