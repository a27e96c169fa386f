"""``manage.py demo_install --tenant demo --user demo``: the demo projects of every type.

``exeml run`` calls it through ``call_command``, so the platform layer (exeml) needs nothing
from the projects app.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exeml.tenancy.models import Tenant
from projects.demo import install_demo


class Command(BaseCommand):
    help = "Write the demo files and create one synchronized project per type (skips existing ones)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--user", required=True, help="the username creating the projects")

    def handle(self, *args, tenant: str, user: str, **options) -> None:
        owner = Tenant.objects.filter(slug=tenant).first()
        if owner is None:
            raise CommandError(f"no tenant {tenant!r}")
        creator = get_user_model().objects.filter(username=user).first()
        if creator is None:
            raise CommandError(f"no user {user!r}")
        projects = install_demo(tenant=owner, user=creator)
        self.stdout.write(f"demo projects: {', '.join(p.name for p in projects)}")
