from __future__ import annotations

from config.errors import ServiceError


class ClaudeRequired(ServiceError):
    status_code = 422
    code = "claude_required"


class AnswerInProgress(ServiceError):
    status_code = 409
    code = "answer_in_progress"


class InvalidSelection(ServiceError):
    code = "invalid_selection"
