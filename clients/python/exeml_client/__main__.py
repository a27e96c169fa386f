"""``python -m exeml_client``: the same as the ``exeml-client`` command."""

from exeml_client.cli import main

raise SystemExit(main())
