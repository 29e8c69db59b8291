"""Imports every model so the metadata (and Alembic) sees the whole schema."""

from app.auth.models import User
from app.billing.core.models import (
    Credit,
    IdempotencyRecord,
    OperatorAction,
    Transaction,
    TransactionEvent,
)
from app.billing.fiscal.models import FiscalPosition, FiscalSeller, Receipt
from app.catalog.models import BillingPolicy, Plan, PolicyAction, Product
from app.clubs.models import Club, ClubMember, ClubSubscription, SubscriptionGrant
from app.events.models import Event
from app.renewals.models import ClubRenewal, RenewalPhone, SubscriptionReminder
from app.webhooks.models import (
    OutboxEvent,
    OutboxSequence,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "BillingPolicy",
    "Club",
    "ClubMember",
    "ClubRenewal",
    "ClubSubscription",
    "Credit",
    "Event",
    "FiscalPosition",
    "FiscalSeller",
    "IdempotencyRecord",
    "OperatorAction",
    "OutboxEvent",
    "OutboxSequence",
    "Plan",
    "PolicyAction",
    "Product",
    "Receipt",
    "RenewalPhone",
    "SubscriptionGrant",
    "SubscriptionReminder",
    "Transaction",
    "TransactionEvent",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
