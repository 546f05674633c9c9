"""The default service catalogue."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hindfoot.errors import InvalidInput
from hindfoot.scheduling.catalogue import (
    CATALOGUE,
    Role,
    ServiceCode,
    get_service,
    role_provides,
    services_for_role,
)


def test_every_service_is_described_and_provided_by_someone() -> None:
    assert set(CATALOGUE) == set(ServiceCode)
    for service in CATALOGUE.values():
        assert service.name and len(service.description) > 40
        assert service.duration_minutes > 0
        assert service.roles and Role.admin not in service.roles


def test_roles() -> None:
    assert services_for_role("admin") == []
    assert [s.code for s in services_for_role(Role.physiotherapist)] == [ServiceCode.physiotherapy]
    assert role_provides("surgeon", "day_case_surgery")
    assert not role_provides("nurse", "day_case_surgery")
    assert not role_provides("receptionist", "follow_up")


def test_unknown_service_is_an_input_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_service("massage")
    assert caught.value.field == "service"
    assert get_service("imaging").code == ServiceCode.imaging


def test_defaults_are_frozen_but_can_be_copied_with_changes() -> None:
    consult = CATALOGUE[ServiceCode.new_consultation]
    with pytest.raises(ValidationError):
        consult.duration_minutes = 60  # type: ignore[misc, unused-ignore]
    longer = consult.model_copy(update={"duration_minutes": 45})
    assert longer.duration_minutes == 45 and consult.duration_minutes == 30
    with pytest.raises(TypeError):
        CATALOGUE[ServiceCode.imaging] = consult  # type: ignore[index]
