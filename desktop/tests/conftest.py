"""Two people, Ann and Bob, each on a host of their own in a network lab, each with a real
peercollabd (started by bus activation) and the real app on a display of their own."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from lab import REPO, Host, Lab, daemon_path  # noqa: E402

BOARD = "org.example.Board"


@pytest.fixture(scope="session")
def output():
    path = os.environ.get("PEERCOLLAB_DESKTOP_TEST_OUTPUT") or os.path.join(
        REPO, ".build", "desktop-tests", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(path, exist_ok=True)
    print(f"\ndesktop test output (screenshots, logs): {path}", file=sys.stderr)
    return path


@pytest.fixture(scope="module")
def pair(output, request):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    daemon_path()
    lab = Lab(3, os.path.join(output, request.module.__name__))
    try:
        ann = Host(lab, 0, "Ann")
        bob = Host(lab, 1, "Bob")
        # Someone else calling himself Bob, with another key; no app, signed out until a test needs him.
        lab.impostor = Host(lab, 2, "Bob")
        a11y = ann.a11y_address()
        # One accessibility bus for both apps, so one AT-SPI client sees both.
        os.environ["AT_SPI_BUS_ADDRESS"] = a11y
        import ui
        for host in (ann, bob):
            host.start_app(a11y)
            host.ui = ui.UI(host.app.pid, host.display)
        # The app started each daemon by bus activation; now both know their applications.
        for host in (ann, bob):
            host.ui.wait("the app connected (its Near me view explains why it is empty)", "label",
                         prefix="You are not signed in near me", timeout=30)
            host.register_application(BOARD, "Board")
        # The first start included starting the daemon by bus activation.
        populated = next(t for t, event, _d in ann.timings() if event == "populated")
        with open(os.path.join(output, "figures.txt"), "a") as file:
            file.write(f"first app start, daemon started by activation → populated "
                       f"{1000 * (populated - ann.app_started):.0f} ms\n")
        yield lab, ann, bob
    finally:
        lab.close()
