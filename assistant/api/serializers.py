from __future__ import annotations

from rest_framework import serializers

from assistant.models import Citation, Conversation, Message
from assistant.rendering import render_answer


class CitationSerializer(serializers.ModelSerializer):
    document_id = serializers.IntegerField()

    class Meta:
        model = Citation
        fields = ["number", "document_id", "start", "end", "quote", "page"]


class MessageSerializer(serializers.ModelSerializer):
    citations = CitationSerializer(many=True, read_only=True)
    html = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "conversation_id",
            "role",
            "action",
            "content",
            "html",
            "status",
            "engine",
            "model",
            "coverage",
            "stop_reason",
            "error",
            "last_seq",
            "citations",
            "created_at",
        ]

    def get_html(self, message: Message) -> str:
        return render_answer(message.content) if message.role == "assistant" else ""

    def get_error(self, message: Message) -> dict | None:
        if not message.error_code:
            return None
        return {"code": message.error_code, "message": message.error_message}


class ConversationSerializer(serializers.ModelSerializer):
    document_ids = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = ["id", "title", "document_ids", "created_at", "updated_at"]

    def get_document_ids(self, conversation: Conversation) -> list[int]:
        return sorted(document.pk for document in conversation.documents.all())


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = ConversationSerializer.Meta.fields + ["messages"]


class StartConversationSerializer(serializers.Serializer):
    document_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=20, default=list
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SelectionSerializer(serializers.Serializer):
    document_id = serializers.IntegerField(min_value=1)
    start = serializers.IntegerField(min_value=0)
    end = serializers.IntegerField(min_value=1)


class AskSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20_000, allow_blank=True, default="")
    action = serializers.ChoiceField(choices=Message.Action.choices, default="ask")
    selection = SelectionSerializer(required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs["action"] in ("ask", "draft") and not attrs["content"].strip():
            raise serializers.ValidationError(
                {"content": "Write a question or an instruction."}
            )
        return attrs
