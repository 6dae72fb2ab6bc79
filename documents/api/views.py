from __future__ import annotations

from rest_framework import status, viewsets
from rest_framework.response import Response

from documents import services
from documents.api.serializers import (
    DocumentDetailSerializer,
    DocumentSerializer,
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

    def partial_update(self, request, pk=None):
        document = self.get_object()
        serializer = RenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.rename_document(document, serializer.validated_data["title"])
        return Response(DocumentSerializer(document).data)

    def destroy(self, request, pk=None):
        services.delete_document(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
