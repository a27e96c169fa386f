import pytest

from exeml.tenancy.flavors import DEFAULT_FLAVORS
from exeml.tenancy.models import Flavor


@pytest.fixture(autouse=True)
def seeded_flavors(db):
    # Transactional tests flush tables, seeded flavors included: put them back.
    for spec in DEFAULT_FLAVORS:
        values = {k: (str(v) if k == "queue" else v) for k, v in spec.items() if k != "code"}
        Flavor.objects.update_or_create(code=spec["code"], defaults=values)
