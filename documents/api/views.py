from __future__ import annotations

from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from documents import services
from documents.api.serializers import (
    DocumentDetailSerializer,
    DocumentSerializer,
    PageRangeSerializer,
    RenameSerializer,
    UploadSerializer,
)
from documents.models import Document


class DocumentViewSet(viewsets.GenericViewSet):
    serializer_class = DocumentSerializer

    def get_queryset(self):
        return Document.objects.for_member(self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset().defer("text"))
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        document = self.get_object()
        return Response(DocumentDetailSerializer(document).data)

    def create(self, request):
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        if "file" in data:
            document = services.upload_document(
                data["file"], title=data.get("title", ""), user=request.user
            )
        else:
            document = services.paste_document(
                title=data.get("title", ""), content=data["content"], user=request.user
            )

        return Response(
            DocumentSerializer(document).data, status=status.HTTP_201_CREATED
        )

    @action(detail=True, methods=["get"])
    def pages(self, request, pk=None):
        """Return up to 50 pages' text, from page ``start`` (1-based)."""
        document = self.get_object()
        serializer = PageRangeSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        first = serializer.validated_data["start"]
        count = serializer.validated_data["count"]

        offsets = document.page_offsets[first - 1 : first - 1 + count]
        pages = [
            {"number": first + index, "start": start, "text": document.text[start:end]}
            for index, (start, end) in enumerate(offsets)
        ]
        return Response({"pages": pages, "page_count": document.page_count})

    def partial_update(self, request, pk=None):
        document = self.get_object()
        serializer = RenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.rename_document(document, serializer.validated_data["title"])
        return Response(DocumentSerializer(document).data)

    def destroy(self, request, pk=None):
        services.delete_document(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
