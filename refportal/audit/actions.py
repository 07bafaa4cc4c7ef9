"""Every audited action, by name: the audit trail, the API's changed_at and the webhooks key on these
members, so a renamed action is a type error, not a webhook that silently stops. The values are what
the audit_event table stores (a StrEnum member is its value)."""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # Accounts
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_DEACTIVATED = "account.deactivated"
    ACCOUNT_EMAIL_VERIFIED = "account.email_verified"
    ACCOUNT_INVITED = "account.invited"
    ACCOUNT_LANGUAGE_CHANGED = "account.language_changed"
    ACCOUNT_PASSWORD_RESET = "account.password_reset"
    ACCOUNT_PASSWORD_RESET_REQUESTED = "account.password_reset_requested"
    ACCOUNT_REACTIVATED = "account.reactivated"
    ACCOUNT_REGISTERED = "account.registered"
    ACCOUNT_ROLE_CHANGED = "account.role_changed"
    # API keys
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    API_KEY_ROSTER_IMPORTED = "api_key.roster_imported"
    API_KEY_USED = "api_key.used"
    # Applications
    APPLICATION_DECIDED = "application.decided"
    APPLICATION_ELIGIBILITY_RECORDED = "application.eligibility_recorded"
    APPLICATION_EVIDENCE_ADDED = "application.evidence_added"
    APPLICATION_EVIDENCE_REMOVED = "application.evidence_removed"
    APPLICATION_OPENED = "application.opened"
    APPLICATION_SUBMITTED = "application.submitted"
    APPLICATION_WITHDRAWN = "application.withdrawn"
    # Documents (every download is one, like a reading of the ratings)
    DOCUMENT_DOWNLOADED = "document.downloaded"
    DOCUMENT_QUARANTINED = "document.quarantined"
    DOCUMENT_REMOVED = "document.removed"
    DOCUMENT_RESCAN_REQUESTED = "document.rescan_requested"
    DOCUMENT_UPLOADED = "document.uploaded"
    # Endorsements and the public registry
    ENDORSEMENT_ISSUED = "endorsement.issued"
    REGISTRY_LISTING_CHANGED = "endorsement.registry_listing_changed"
    ENDORSEMENT_RENEWAL_OPENED = "endorsement.renewal_opened"
    ENDORSEMENT_PERIOD_ENDED = "endorsement.period_ended"
    ENDORSEMENT_LAPSED = "endorsement.lapsed"
    ENDORSEMENT_RELINQUISHED = "endorsement.relinquished"
    ENDORSEMENT_REVOKED = "endorsement.revoked"
    # An endorsement's renewal, the endorsee's side
    RENEWAL_STARTED = "renewal.started"
    RENEWAL_MEMBERSHIP_SAVED = "renewal.membership_saved"
    RENEWAL_ENTRY_ADDED = "renewal.entry_added"
    RENEWAL_ENTRY_REMOVED = "renewal.entry_removed"
    RENEWAL_DECLARATIONS_SAVED = "renewal.declarations_saved"
    RENEWAL_SUBMITTED = "renewal.submitted"
    # Staff's decisions on an endorsement's renewal, and its membership checked
    RENEWAL_APPROVED = "renewal.approved"
    RENEWAL_MORE_REQUESTED = "renewal.more_requested"
    RENEWAL_REFUSED = "renewal.refused"
    RENEWAL_MEMBERSHIP_VERIFIED = "renewal.membership_verified"
    RENEWAL_MEMBERSHIP_REJECTED = "renewal.membership_rejected"
    ENDORSEMENT_REINSTATEMENT_OPENED = "endorsement.reinstatement_opened"
    ENDORSEMENT_REINSTATED = "endorsement.reinstated"
    # Mail
    EMAIL_BOUNCED = "email.bounced"
    EMAIL_DELAYED = "email.delayed"
    EMAIL_RESENT = "email.resent"
    # Fees: the ledger (charges, payments, waivers, refunds) and online checkouts
    FEE_CHARGED = "fee.charged"
    FEE_CHARGE_VOIDED = "fee.charge_voided"
    FEE_CHARGE_RESTORED = "fee.charge_restored"
    FEE_CHECKOUT_OPENED = "fee.checkout_opened"
    FEE_CHECKOUT_REJECTED = "fee.checkout_rejected"
    FEE_PAYMENT_RECORDED = "fee.payment_recorded"
    FEE_REFUNDED = "fee.refunded"
    FEE_WAIVED = "fee.waived"
    # The application file
    FILE_RATINGS_READ = "file.ratings_read"
    # Membership
    MEMBERSHIP_DECLARED = "membership.declared"
    MEMBERSHIP_REJECTED = "membership.rejected"
    MEMBERSHIP_ROSTER_IMPORTED = "membership.roster_imported"
    MEMBERSHIP_VERIFIED = "membership.verified"
    # References
    REFERENCE_BOUNCED = "reference.bounced"
    REFERENCE_DECLINED = "reference.declined"
    REFERENCE_DRAFT_SAVED = "reference.draft_saved"
    REFERENCE_EMAIL_CORRECTED = "reference.email_corrected"
    REFERENCE_EXPIRED = "reference.expired"
    REFERENCE_FRESH_LINK_SENT = "reference.fresh_link_sent"
    REFERENCE_INVITED = "reference.invited"
    REFERENCE_NOMINATED = "reference.nominated"
    REFERENCE_OPENED = "reference.opened"
    REFERENCE_REMINDED = "reference.reminded"
    REFERENCE_REMOVED = "reference.removed"
    REFERENCE_REQUESTS_CANCELLED = "reference.requests_cancelled"
    REFERENCE_REQUESTS_PAGE_LINK_SENT = "reference.requests_page_link_sent"
    REFERENCE_REQUESTS_SENT = "reference.requests_sent"
    REFERENCE_REUSE_CONFIRMED = "reference.reuse_confirmed"
    REFERENCE_REUSE_REQUESTED = "reference.reuse_requested"
    REFERENCE_SUBMITTED = "reference.submitted"
    # Reviews
    REVIEW_ASSIGNED = "review.assigned"
    REVIEW_LOCKED = "review.locked"
    REVIEW_RECORDED = "review.recorded"
    REVIEW_RECUSED = "review.recused"
    REVIEW_REOPENED = "review.reopened"
    REVIEW_UNASSIGNED = "review.unassigned"
    REVIEW_VERDICT_RECORDED = "review.verdict_recorded"
    # Review rounds
    REVIEW_ROUND_AUTO_ASSIGNED = "review_round.auto_assigned"
    REVIEW_ROUND_CREATED = "review_round.created"
    REVIEW_ROUND_DELETED = "review_round.deleted"
    # Webhooks
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_ENABLED = "webhook.enabled"
    WEBHOOK_REGISTERED = "webhook.registered"
