from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from assistant import services
from assistant.api.serializers import (
    AskSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
    MessageSerializer,
    StartConversationSerializer,
)
from assistant.models import Conversation, Message


class ConversationViewSet(viewsets.GenericViewSet):
    serializer_class = ConversationSerializer

    def get_queryset(self):
        return Conversation.objects.for_member(self.request.user).prefetch_related(
            "documents",
            Prefetch(
                "messages", queryset=Message.objects.prefetch_related("citations")
            ),
        )

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)

    def create(self, request):
        serializer = StartConversationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = services.start_conversation(
            request.user,
            serializer.validated_data["document_ids"],
            serializer.validated_data.get("title", ""),
        )
        body = ConversationSerializer(conversation).data
        return Response(body, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(ConversationDetailSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def messages(self, request, pk=None):
        conversation = self.get_object()
        serializer = AskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        question, answer = services.ask(
            conversation,
            request.user,
            data["content"],
            data["action"],
            data.get("selection"),
        )

        body = {
            "user_message": MessageSerializer(question).data,
            "assistant_message": {"id": answer.pk, "status": answer.status},
        }
        return Response(body, status=status.HTTP_201_CREATED)


class MessageViewSet(viewsets.GenericViewSet):
    serializer_class = MessageSerializer

    def get_queryset(self):
        return Message.objects.for_member(self.request.user).prefetch_related(
            "citations"
        )

    def retrieve(self, request, pk=None):
        return Response(MessageSerializer(self.get_object()).data)

    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        message = services.stop(self.get_object())
        return Response(
            {"id": message.pk, "status": message.status},
            status=status.HTTP_202_ACCEPTED,
        )
