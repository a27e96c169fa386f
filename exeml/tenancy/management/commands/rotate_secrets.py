"""Re-encrypt every stored secret under the first key of EXEML_FERNET_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from exeml.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Re-encrypt tenants' storage secret keys with the first key of EXEML_FERNET_KEYS."

    def handle(self, *args, **options) -> None:
        count = 0
        with transaction.atomic():
            for tenant in Tenant.objects.exclude(s3_secret_key="").select_for_update():
                # Loading decrypts with any key; saving encrypts with the first.
                tenant.save(update_fields=["s3_secret_key"])
                count += 1
        self.stdout.write(f"re-encrypted {count} secret(s)")
