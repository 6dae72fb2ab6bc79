from __future__ import annotations

from rest_framework import serializers

from documents.models import Document


class DocumentSerializer(serializers.ModelSerializer):
    pages = serializers.IntegerField(source="page_count", read_only=True)
    error = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "title",
            "filename",
            "kind",
            "size_bytes",
            "status",
            "pages",
            "error",
            "progress",
            "created_at",
            "updated_at",
        ]

    def get_progress(self, document: Document) -> dict | None:
        if document.status != Document.Status.PROCESSING:
            return None
        return {"pages_done": document.pages_done, "pages_total": document.pages_total}

    def get_error(self, document: Document) -> dict | None:
        if document.status != Document.Status.FAILED:
            return None
        return {"code": document.error_code, "message": document.error_message}


class DocumentDetailSerializer(DocumentSerializer):
    page_offsets = serializers.JSONField(read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = DocumentSerializer.Meta.fields + ["text", "page_offsets"]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, allow_empty_file=False)
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    content = serializers.CharField(required=False, trim_whitespace=False)

    def validate(self, attrs: dict) -> dict:
        if "file" not in attrs and "content" not in attrs:
            raise serializers.ValidationError(
                "Send a file as multipart 'file', or JSON {title, content} "
                "to paste text."
            )
        if "file" in attrs and "content" in attrs:
            raise serializers.ValidationError(
                "Send either 'file' or 'content', not both."
            )
        return attrs


class RenameSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)


class PageRangeSerializer(serializers.Serializer):
    start = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    count = serializers.IntegerField(min_value=1, max_value=50, default=10)
