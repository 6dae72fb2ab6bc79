from __future__ import annotations

from django.db import models


class ConversationQuerySet(models.QuerySet):
    def for_member(self, user) -> ConversationQuerySet:
        """Conversations the member started.

        Conversations are private to the member who started them.
        """
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(created_by=user)


class MessageQuerySet(models.QuerySet):
    def for_member(self, user) -> MessageQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(conversation__created_by=user)
