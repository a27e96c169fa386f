"""The ExeML Python SDK: ``from exeml_client import Client``.

Depends only on ``requests``; nothing here imports Django or a platform app.
"""

from exeml_client.client import CONFIG_PATH, Client, Config, load_config, save_config
from exeml_client.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    ExeMLError,
    Failed,
    Forbidden,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TooLarge,
    Unauthorized,
    WaitTimeout,
)
from exeml_client.types import (
    Dataset,
    Job,
    Label,
    Model,
    ModelVersion,
    Project,
    Sample,
    Service,
    UploadResult,
)

__all__ = [
    "CONFIG_PATH", "ApiError", "AuthError", "BadRequest", "Client", "Config", "Conflict", "ConnectionFailed",
    "Dataset", "ExeMLError", "Failed", "Forbidden", "Job", "Label", "Model", "ModelVersion", "NotFound",
    "Project", "QuotaExceeded", "RateLimited", "Sample", "ServerError", "Service", "TooLarge", "Unauthorized",
    "UploadResult", "WaitTimeout", "load_config", "save_config",
]
