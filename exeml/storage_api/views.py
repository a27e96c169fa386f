"""Browse the tenant's storage and create folders (the project wizard's path picker)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError
from exeml.storage import (
    ObjectNotFound,
    StoragePathError,
    ensure_within_roots,
    parse_storage_path,
    store_for_tenant,
    validate_folder_name_path,
)
from exeml.storage.base import ListPage, ObjectInfo, paged
from exeml.storage_api.serializers import BrowseSerializer, FolderCreateSerializer

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
LISTING_CHUNK = 1000
MAX_SKIPPED_ENTRIES = 1_000_000


def _in_key_order(pages: Iterable[ListPage]) -> Iterator[ObjectInfo | str]:
    """Folders (str) and objects of each listing chunk, merged back into key order (one chunk
    covers a contiguous key range, so this is the order of the whole listing)."""
    for page in pages:
        yield from sorted([*page.folders, *page.objects], key=lambda e: e if isinstance(e, str) else e.key)


def _int_param(value, name: str, default: int, maximum: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApplicationError("expected a whole number", field=name)
    if not 1 <= number <= maximum:
        raise ApplicationError(f"must be between 1 and {maximum}", field=name)
    return number


class BrowseView(TenantAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("path", str, description="s3://bucket/folder/ (default: your first storage root)"),
            OpenApiParameter("limit", int), OpenApiParameter("token", str, description="next_token of the last page"),
        ],
        responses={200: BrowseSerializer},
    )
    def get(self, request):
        tenant = request.tenant
        raw = request.query_params.get("path") or tenant.default_root
        try:
            path = ensure_within_roots(parse_storage_path(raw), tenant.storage_roots).as_folder()
        except StoragePathError as exc:
            raise ApplicationError(exc.reason, field="path")
        limit = _int_param(request.query_params.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT)
        page_no = _int_param(request.query_params.get("token"), "token", 1, 10**6)
        if (page_no - 1) * limit > MAX_SKIPPED_ENTRIES:
            raise ApplicationError(f"cannot page past {MAX_SKIPPED_ENTRIES} entries; open a subfolder", field="token")
        store = store_for_tenant(tenant)
        try:
            # Listed 1,000 at a time whatever the page size: limit=1&token=N must not cost N
            # storage calls.
            listing = store.list_pages(path.bucket, path.key, page_size=LISTING_CHUNK, recursive=False)
            pages = paged(_in_key_order(listing), limit)
            page = next(islice(pages, page_no - 1, None), None)
            has_more = page is not None and next(pages, None) is not None
        except ObjectNotFound:
            raise ApplicationError(f"bucket {path.bucket} does not exist", field="path")
        folders, objects = [], []
        if page is not None:
            folders = [f"s3://{path.bucket}/{key}" for key in page.folders]
            objects = [
                {"path": f"s3://{path.bucket}/{o.key}", "size": o.size, "mtime": o.mtime}
                for o in page.objects if o.key != path.key  # the folder's own marker object
            ]
        body = {"path": str(path), "folders": folders, "objects": objects,
                "next_token": str(page_no + 1) if has_more else None}
        return Response(BrowseSerializer(body).data)


class FolderCreateView(TenantAPIView):
    @extend_schema(request=FolderCreateSerializer, responses={201: FolderCreateSerializer})
    def post(self, request):
        shape = FolderCreateSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        try:
            path = validate_folder_name_path(shape.validated_data["path"])
            ensure_within_roots(path, request.tenant.storage_roots)
        except StoragePathError as exc:
            raise ApplicationError(exc.reason, field="path")
        store = store_for_tenant(request.tenant)
        # Create every level (a/b/c makes three folders), like the console does.
        parts = path.key.rstrip("/").split("/")
        try:
            for depth in range(1, len(parts) + 1):
                store.put(path.bucket, "/".join(parts[:depth]) + "/", b"")
        except ObjectNotFound:
            raise ApplicationError(f"bucket {path.bucket} does not exist", field="path")
        return Response({"path": str(path)}, status=status.HTTP_201_CREATED)
