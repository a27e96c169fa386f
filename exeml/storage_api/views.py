"""Browse the tenant's storage and create folders (the project wizard's path picker)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from exeml.api.views import TenantAPIView
from exeml.errors import ApplicationError
from exeml.storage import (
    ObjectNotFound,
    StoragePath,
    StoragePathError,
    check_name,
    ensure_within_roots,
    parse_storage_path,
    store_for_tenant,
    validate_folder_name_path,
    validate_key,
)
from exeml.storage.base import ListPage, ObjectInfo, paged
from exeml.storage_api.serializers import (
    BrowseSerializer,
    FolderCreateSerializer,
    ObjectUploadSerializer,
    StorageObjectSerializer,
)
from exeml.tenancy.services import quota_check

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


OBJECT_NAME_FORBIDDEN = set('\\/:*?"<>|')
# Only tables: what scripts need to put (a predictive analytics CSV). Other files in the
# roots (manifests, model bundles in output paths) are the platform's to write.
OBJECT_SUFFIXES = (".csv",)


def _object_path(raw: str, roots) -> StoragePath:
    """A file's full path: its folder follows the folder rules, its name the same characters'."""
    try:
        path = parse_storage_path(raw)
        if path.is_folder or not path.key:
            raise StoragePathError("give the file's full path (s3://bucket/folder/name.csv), not a folder", raw)
        name = path.name
        check_name(name, what="file name")  # bytes and characters, as for folder names
        if OBJECT_NAME_FORBIDDEN.intersection(name) or name.startswith(".") or not name.isprintable():
            raise StoragePathError('file name cannot start with "." or contain control characters or \\/:*?"<>|',
                                   raw)
        if not name.lower().endswith(OBJECT_SUFFIXES):
            raise StoragePathError(f"only {', '.join(OBJECT_SUFFIXES)} files can be put here", raw)
        if "/" in path.key:
            validate_folder_name_path(path.parent)
        validate_key(path.key)
        return ensure_within_roots(path, roots)
    except StoragePathError as exc:
        raise ApplicationError(exc.reason, field="path")


class ObjectUploadView(TenantAPIView):
    """Put one CSV into storage (a predictive analytics table, before creating its project)."""

    @extend_schema(request={"multipart/form-data": ObjectUploadSerializer}, responses={201: StorageObjectSerializer})
    def post(self, request):
        limit = int(settings.EXEML_LIMITS["upload_request_max_bytes"])
        # Refuse an oversized body before parsing it (multipart framing gets some slack).
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise ApplicationError(f"the upload is larger than the {limit // (1024 * 1024)} MB allowed per request",
                                   code="too_large", status=413)
        shape = ObjectUploadSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        upload = shape.validated_data["file"]
        path = _object_path(shape.validated_data["path"], request.tenant.storage_roots)
        if upload.size == 0:
            raise ApplicationError("file is empty (0 bytes)", field="file")
        if upload.size > limit:
            raise ApplicationError(f"file is larger than the {limit // (1024 * 1024)} MB allowed per request",
                                   code="too_large", status=413)
        store = store_for_tenant(request.tenant)
        try:
            exists = store.exists(path.bucket, path.key)
        except ObjectNotFound:
            raise ApplicationError(f"bucket {path.bucket} does not exist", field="path")
        if exists and not shape.validated_data["overwrite"]:
            raise ApplicationError("a file already exists at this path (send overwrite=true to replace it)",
                                   field="path")
        quota_check(tenant=request.tenant, quota="max_storage_bytes", adding=upload.size)
        try:
            info = store.put(path.bucket, path.key, upload.read())
        except ObjectNotFound:
            raise ApplicationError(f"bucket {path.bucket} does not exist", field="path")
        body = {"path": str(path), "size": info.size, "mtime": info.mtime}
        return Response(StorageObjectSerializer(body).data, status=status.HTTP_201_CREATED)
