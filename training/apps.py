from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exeml.tenancy.services import usage_register
        from training.preconditions import training_minutes_this_month
        from training.services import active_trainings

        usage_register("max_concurrent_trainings", active_trainings)
        usage_register("max_training_minutes_per_month", training_minutes_this_month)
