"""The fake API server and the real client in front of it, for the tests of each kube/ module."""

import pytest

from tests.unit.kube.fake_api import FakeKubeClient, FakeState


@pytest.fixture
def state() -> FakeState:
    return FakeState()


@pytest.fixture
def client(state: FakeState) -> FakeKubeClient:
    return FakeKubeClient(state)
