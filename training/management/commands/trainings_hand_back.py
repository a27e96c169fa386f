"""Send trainings still running back to their queue (``exeml run`` calls it after a stop whose
grace period a training outlived), so an operator's stop never fails a user's training."""

from __future__ import annotations

import socket

from django.core.management.base import BaseCommand

from training.services import versions_hand_back


class Command(BaseCommand):
    help = "Hand running trainings back to their queue after the platform was stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--reason", default="the platform was stopped during the training")
        parser.add_argument("--all-hosts", action="store_true",
                            help="every running training, not only those of workers on this host")

    def handle(self, *args, reason: str, all_hosts: bool = False, **options) -> None:
        # Only this host's workers stopped: trainings on other hosts sharing the database run on.
        count = versions_hand_back(reason=reason, host=None if all_hosts else socket.gethostname())
        if count:
            self.stdout.write(f"exeml: {count} training(s) handed back to the queue; they restart with the next start")
