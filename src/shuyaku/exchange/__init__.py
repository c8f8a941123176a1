"""Exchange files: layouts, envelope, validation, inbox ledger, quarantine, outbox guard."""
