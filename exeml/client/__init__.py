"""``exeml.client``: the SDK under its older name, for the platform's code and existing scripts.

The SDK is its own distribution, ``exeml-client`` (clients/python/, package ``exeml_client``),
so that it installs without the platform; this module's submodules are the very same module
objects (``exeml.client.cli is exeml_client.cli``), so patching one patches the other.
Importing it through ``exeml`` loads the platform's package (Celery, Django settings): scripts
on machines without the platform import ``exeml_client`` instead.
"""

import sys

import exeml_client
from exeml_client import *  # noqa: F403 (the same names as before the move)
from exeml_client import cli, client, errors, types

__all__ = list(exeml_client.__all__)

for _name, _module in (("cli", cli), ("client", client), ("errors", errors), ("types", types)):
    sys.modules[f"{__name__}.{_name}"] = _module
del _name, _module
