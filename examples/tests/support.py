"""What the example tests share beside the lab: whether the daemon has channels, figures."""
import os
import subprocess

from lab import REPO, daemon_path  # noqa: F401


def channels_available():
    """Whether this daemon has the Channels API (Invitation.OpenChannel)."""
    result = subprocess.run([daemon_path(), "--print-introspection", "org.peercollab.PeerCollab1.Invitation"],
                            capture_output=True, text=True, timeout=30)
    return "OpenChannel" in result.stdout


def figures(lab, line):
    print(line)
    with open(os.path.join(lab.output, "..", "figures.txt"), "a") as file:
        file.write(line + "\n")
