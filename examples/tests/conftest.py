"""The example applications against real daemons: the hosts, buses and displays of the
desktop tests (desktop/tests/lab.py), and two people, Ann and Bob."""
import os
import sys
import time

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "desktop", "tests"))

from lab import REPO, Host, Lab, daemon_path  # noqa: E402
from support import channels_available  # noqa: E402


@pytest.fixture(scope="session")
def output():
    path = os.environ.get("PEERCOLLAB_DESKTOP_TEST_OUTPUT") or os.path.join(
        REPO, ".build", "desktop-tests", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(path, exist_ok=True)
    print(f"\nexample test output (screenshots, logs): {path}", file=sys.stderr)
    return path


@pytest.fixture
def pair(output, request):
    """Ann and Bob on one link, each with a bus, a display and a daemon (by activation)."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    daemon_path()
    if not channels_available():
        pytest.skip("this peercollabd has no Invitation.OpenChannel (the Channels API) yet")
    lab = Lab(2, os.path.join(output, request.module.__name__))
    try:
        yield lab, Host(lab, 0, "Ann"), Host(lab, 1, "Bob")
    finally:
        lab.close()
