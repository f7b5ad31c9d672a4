"""A private dbus-daemon for the RSS scripts, with no service directories.

With the stock session configuration the bus would activate an installed peercollabd (from
~/.local/share/dbus-1/services) when a call reaches a daemon that is not (or no longer)
running; that one would run with the user's own state and every interface. This bus
activates nothing.
"""
import os
import subprocess

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def start_bus(directory):
    """Starts a bus listening in `directory`; returns (address, pid)."""
    config = os.path.join(directory, "bus.conf")
    with open(config, "w") as f:
        f.write(CONFIG.format(path=os.path.join(directory, "bus")))
    out = subprocess.run(
        ["dbus-daemon", f"--config-file={config}", "--fork", "--nopidfile",
         "--print-address=1", "--print-pid=1"],
        check=True, capture_output=True, text=True, timeout=10).stdout.split("\n")
    return out[0].strip(), int(out[1])
