from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The usage ledger, kept in each organization's schema."""

    name = "billing.ledger"
    label = "ledger"
