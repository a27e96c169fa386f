from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.members import member_removed
        from labeling.tasks import tasks_unassign_member

        def _let_go(sender, tenant, user, **kwargs) -> None:
            tasks_unassign_member(tenant=tenant, user=user)

        member_removed.connect(_let_go, dispatch_uid="labeling-unassign-removed-member", weak=False)
