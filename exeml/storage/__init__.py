"""Object storage: one interface, an S3 backend and a local-folder backend, plus path checks."""

from .base import ListPage, ObjectInfo, ObjectNotFound, ObjectStore, StorageError, TransientStorageError
from .factory import default_store, reset_store_cache, store_for_tenant
from .local import LocalObjectStore
from .paths import (
    MAX_KEY_BYTES,
    MAX_NAME_BYTES,
    StoragePath,
    StoragePathError,
    check_name,
    check_name_bytes,
    ensure_within_roots,
    is_under,
    parse_storage_path,
    validate_bucket_name,
    validate_folder_name,
    validate_folder_name_path,
    validate_key,
)
from .s3 import S3ObjectStore
from .watch import StorageStalled, StorageWatch, checkpoint, storage_call, watching

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_NAME_BYTES",
    "ListPage",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3ObjectStore",
    "StorageError",
    "StoragePath",
    "StoragePathError",
    "StorageStalled",
    "StorageWatch",
    "TransientStorageError",
    "check_name",
    "check_name_bytes",
    "checkpoint",
    "default_store",
    "ensure_within_roots",
    "is_under",
    "parse_storage_path",
    "reset_store_cache",
    "storage_call",
    "store_for_tenant",
    "validate_bucket_name",
    "validate_folder_name",
    "validate_folder_name_path",
    "validate_key",
    "watching",
]
