"""Contains all the data models used in inputs/outputs"""

from .acted_out import ActedOut
from .age_out import AgeOut
from .billing_transaction_events_response_200 import BillingTransactionEventsResponse200
from .cancel_out import CancelOut
from .catalog_out import CatalogOut
from .club_create_in import ClubCreateIn
from .club_list_out import ClubListOut
from .club_out import ClubOut
from .credit_out import CreditOut
from .credits_out import CreditsOut
from .credits_out_available import CreditsOutAvailable
from .error import Error
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .event_create_in import EventCreateIn
from .event_list_out import EventListOut
from .event_out import EventOut
from .event_patch_in import EventPatchIn
from .events_patch_event_confirm_credit import EventsPatchEventConfirmCredit
from .events_publish_confirm_credit import EventsPublishConfirmCredit
from .granted_credits_out import GrantedCreditsOut
from .granted_out import GrantedOut
from .granted_plan_out import GrantedPlanOut
from .history_item_out import HistoryItemOut
from .history_page_out import HistoryPageOut
from .history_payment_out import HistoryPaymentOut
from .hour_out import HourOut
from .late_outcome_out import LateOutcomeOut
from .late_outcome_out_after import LateOutcomeOutAfter
from .late_outcome_out_outcome import LateOutcomeOutOutcome
from .member_add_in import MemberAddIn
from .member_add_in_role import MemberAddInRole
from .member_list_out import MemberListOut
from .member_out import MemberOut
from .money import Money
from .money_out import MoneyOut
from .ops_page_out import OpsPageOut
from .ops_transaction_out import OpsTransactionOut
from .payment_out import PaymentOut
from .plan_out import PlanOut
from .policy_out import PolicyOut
from .product_out import ProductOut
from .product_out_constraints import ProductOutConstraints
from .publish_out import PublishOut
from .purchase_intent_in import PurchaseIntentIn
from .purchase_intent_out import PurchaseIntentOut
from .receipt_out import ReceiptOut
from .receipt_out_kind import ReceiptOutKind
from .refund_in import RefundIn
from .refundable_out import RefundableOut
from .reminder_out import ReminderOut
from .renew_in import RenewIn
from .renewal_out import RenewalOut
from .renewal_phone_in import RenewalPhoneIn
from .renewal_phone_out import RenewalPhoneOut
from .requirement_out import RequirementOut
from .requirement_out_error_type_0 import RequirementOutErrorType0
from .requirement_out_outcome import RequirementOutOutcome
from .resolve_in import ResolveIn
from .resolve_in_action import ResolveInAction
from .review_item_out import ReviewItemOut
from .review_queue_out import ReviewQueueOut
from .scheduled_change_out import ScheduledChangeOut
from .story_action_out import StoryActionOut
from .story_attempt_out import StoryAttemptOut
from .story_event_out import StoryEventOut
from .story_out import StoryOut
from .story_out_credits import StoryOutCredits
from .story_refund_out import StoryRefundOut
from .subscription_out import SubscriptionOut
from .summary_out import SummaryOut
from .summary_out_by_status import SummaryOutByStatus
from .transaction_detail_out import TransactionDetailOut
from .transaction_status_out import TransactionStatusOut
from .tx_status import TxStatus
from .webhook_credit_consumed import WebhookCreditConsumed
from .webhook_credit_consumed_data import WebhookCreditConsumedData
from .webhook_credit_consumed_data_status import WebhookCreditConsumedDataStatus
from .webhook_credit_data import WebhookCreditData
from .webhook_credit_data_status import WebhookCreditDataStatus
from .webhook_credit_granted import WebhookCreditGranted
from .webhook_credit_granted_data import WebhookCreditGrantedData
from .webhook_credit_restored import WebhookCreditRestored
from .webhook_credit_revoked import WebhookCreditRevoked
from .webhook_event_published import WebhookEventPublished
from .webhook_event_published_data import WebhookEventPublishedData
from .webhook_receipt_issued import WebhookReceiptIssued
from .webhook_receipt_issued_data import WebhookReceiptIssuedData
from .webhook_receipt_issued_data_kind import WebhookReceiptIssuedDataKind
from .webhook_subscription_activated import WebhookSubscriptionActivated
from .webhook_subscription_data import WebhookSubscriptionData
from .webhook_subscription_data_status import WebhookSubscriptionDataStatus
from .webhook_subscription_expired import WebhookSubscriptionExpired
from .webhook_subscription_grace_started import WebhookSubscriptionGraceStarted
from .webhook_subscription_renewal_due import WebhookSubscriptionRenewalDue
from .webhook_subscription_renewal_due_data import WebhookSubscriptionRenewalDueData
from .webhook_subscription_renewed import WebhookSubscriptionRenewed
from .webhook_transaction_canceled import WebhookTransactionCanceled
from .webhook_transaction_completed import WebhookTransactionCompleted
from .webhook_transaction_data import WebhookTransactionData
from .webhook_transaction_data_status import WebhookTransactionDataStatus
from .webhook_transaction_expired import WebhookTransactionExpired
from .webhook_transaction_failed import WebhookTransactionFailed
from .webhook_transaction_needs_review import WebhookTransactionNeedsReview
from .webhook_transaction_needs_review_data import WebhookTransactionNeedsReviewData
from .webhook_transaction_needs_review_data_status import WebhookTransactionNeedsReviewDataStatus
from .webhook_transaction_refunded import WebhookTransactionRefunded
from .webhook_transaction_refunded_data import WebhookTransactionRefundedData
from .webhook_transaction_refunded_data_status import WebhookTransactionRefundedDataStatus

__all__ = (
    "ActedOut",
    "AgeOut",
    "BillingTransactionEventsResponse200",
    "CancelOut",
    "CatalogOut",
    "ClubCreateIn",
    "ClubListOut",
    "ClubOut",
    "CreditOut",
    "CreditsOut",
    "CreditsOutAvailable",
    "Error",
    "ErrorBody",
    "ErrorDetail",
    "EventCreateIn",
    "EventListOut",
    "EventOut",
    "EventPatchIn",
    "EventsPatchEventConfirmCredit",
    "EventsPublishConfirmCredit",
    "GrantedCreditsOut",
    "GrantedOut",
    "GrantedPlanOut",
    "HistoryItemOut",
    "HistoryPageOut",
    "HistoryPaymentOut",
    "HourOut",
    "LateOutcomeOut",
    "LateOutcomeOutAfter",
    "LateOutcomeOutOutcome",
    "MemberAddIn",
    "MemberAddInRole",
    "MemberListOut",
    "MemberOut",
    "Money",
    "MoneyOut",
    "OpsPageOut",
    "OpsTransactionOut",
    "PaymentOut",
    "PlanOut",
    "PolicyOut",
    "ProductOut",
    "ProductOutConstraints",
    "PublishOut",
    "PurchaseIntentIn",
    "PurchaseIntentOut",
    "ReceiptOut",
    "ReceiptOutKind",
    "RefundableOut",
    "RefundIn",
    "ReminderOut",
    "RenewalOut",
    "RenewalPhoneIn",
    "RenewalPhoneOut",
    "RenewIn",
    "RequirementOut",
    "RequirementOutErrorType0",
    "RequirementOutOutcome",
    "ResolveIn",
    "ResolveInAction",
    "ReviewItemOut",
    "ReviewQueueOut",
    "ScheduledChangeOut",
    "StoryActionOut",
    "StoryAttemptOut",
    "StoryEventOut",
    "StoryOut",
    "StoryOutCredits",
    "StoryRefundOut",
    "SubscriptionOut",
    "SummaryOut",
    "SummaryOutByStatus",
    "TransactionDetailOut",
    "TransactionStatusOut",
    "TxStatus",
    "WebhookCreditConsumed",
    "WebhookCreditConsumedData",
    "WebhookCreditConsumedDataStatus",
    "WebhookCreditData",
    "WebhookCreditDataStatus",
    "WebhookCreditGranted",
    "WebhookCreditGrantedData",
    "WebhookCreditRestored",
    "WebhookCreditRevoked",
    "WebhookEventPublished",
    "WebhookEventPublishedData",
    "WebhookReceiptIssued",
    "WebhookReceiptIssuedData",
    "WebhookReceiptIssuedDataKind",
    "WebhookSubscriptionActivated",
    "WebhookSubscriptionData",
    "WebhookSubscriptionDataStatus",
    "WebhookSubscriptionExpired",
    "WebhookSubscriptionGraceStarted",
    "WebhookSubscriptionRenewalDue",
    "WebhookSubscriptionRenewalDueData",
    "WebhookSubscriptionRenewed",
    "WebhookTransactionCanceled",
    "WebhookTransactionCompleted",
    "WebhookTransactionData",
    "WebhookTransactionDataStatus",
    "WebhookTransactionExpired",
    "WebhookTransactionFailed",
    "WebhookTransactionNeedsReview",
    "WebhookTransactionNeedsReviewData",
    "WebhookTransactionNeedsReviewDataStatus",
    "WebhookTransactionRefunded",
    "WebhookTransactionRefundedData",
    "WebhookTransactionRefundedDataStatus",
)
