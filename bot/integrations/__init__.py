"""Integrations the rollback runbook reaches out to. Each raises IntegrationError with a
message for people when it did not do its job."""


class IntegrationError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
