// @ts-check
/* The club page's renewal banner: the days left and Renew. Kaspi cannot charge again
 * by itself, so the owner pays each period: Renew asks for the next period's purchase
 * (POST /api/clubs/<id>/renew, the same one again while it is pending), shows the
 * Kaspi link, and follows the payment until the new period shows. */
import { api } from "./api.js";
import { plan as planById, planTitle } from "./catalog.js";
import { $, announce, showText } from "./dom.js";
import { formatDate, formatMoney, t } from "./i18n.js";

const DAY_MS = 24 * 60 * 60 * 1000;
let shown = null; // { club, onRenewed }
let following = null; // the transaction being followed
let renewedClub = null; // keeps "Renewed: ..." in view after the page re-renders

export function initRenewal() {
  $("club-renew").addEventListener("click", renew);
}

/* Shown to the owner once a reminder went out for this period, or in grace. */
export function renderRenewal(club, onRenewed) {
  shown = { club, onRenewed };
  const sub = club.subscription;
  const due = sub && club.role === "owner" && (sub.status === "grace"
    || (sub.status === "active" && sub.renewal && sub.renewal.reminders_sent.length > 0));
  const justRenewed = renewedClub === club.id;
  $("club-renew-banner").hidden = !due && !justRenewed;
  $("club-renew").hidden = !due;
  if (!due) {
    $("club-renew-text").textContent = "";
    return;
  }
  const p = planById(sub.plan_id);
  const days = Math.max(0, Math.ceil((Date.parse(sub.current_period_end) - Date.now()) / DAY_MS));
  $("club-renew-text").textContent = sub.status === "grace"
    ? t("renew.grace", { date: formatDate(sub.grace_until) })
    : t("renew.daysLeft", { n: days, plan: p ? planTitle(p) : sub.plan_id, date: formatDate(sub.current_period_end) });
  if (!justRenewed && (!following || following.clubId !== club.id)) {
    $("club-renew-pay").hidden = true;
    showText($("club-renew-status"), "");
  }
}

async function renew() {
  if (!shown) return;
  const club = shown.club;
  const button = $("club-renew");
  renewedClub = null;
  button.disabled = true;
  const res = await api("POST", "/api/clubs/" + encodeURIComponent(club.id) + "/renew", { body: {} });
  button.disabled = false;
  if (res.status !== 201 && res.status !== 200) {
    showText($("club-renew-status"), t("renew.failed"));
    return;
  }
  const link = $("club-renew-pay");
  const amount = formatMoney({ amount: res.data.amount, currency: res.data.currency });
  if (res.data.payment.payment_url) {
    link.href = res.data.payment.payment_url;
    link.hidden = false;
    showText($("club-renew-status"), t("renew.waiting", { amount }));
    link.focus();
  } else {
    // An invoice already sent to the owner's phone: it is paid in the Kaspi app.
    link.hidden = true;
    showText($("club-renew-status"), t("renew.invoiceSent", { amount }));
  }
  follow(club.id, res.data.transaction_id, res.data.payment.poll_interval_s);
}

function follow(clubId, txId, intervalS) {
  following = { clubId, txId };
  const poll = async () => {
    if (!following || following.txId !== txId) return;
    const res = await api("GET", "/api/billing/transactions/" + encodeURIComponent(txId));
    const status = res.status === 200 ? res.data.status : "pending";
    if (status === "pending") {
      setTimeout(poll, Math.max(1, intervalS) * 1000);
      return;
    }
    following = null;
    $("club-renew-pay").hidden = true;
    if (status === "completed") {
      renewedClub = clubId;
      const renewed = shown && shown.onRenewed ? await shown.onRenewed(clubId) : null;
      const text = t("renew.done", { date: renewed ? formatDate(renewed.subscription.current_period_end) : "" });
      showText($("club-renew-status"), text);
      announce(text);
    } else {
      showText($("club-renew-status"), t("renew.notPaid"));
    }
  };
  setTimeout(poll, Math.max(1, intervalS) * 1000);
}
