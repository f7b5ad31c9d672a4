"""Hosts for the desktop tests: network namespaces joined by a bridge (as the Swift tests'
NetworkLab does), and on each host a real peercollabd started by bus activation from a
private session bus, an Xvfb display and the real app. Everything is removed at the end,
also when a test fails."""
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time

from gi.repository import Gio, GLib

IP = "/usr/sbin/ip"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
APP = os.path.join(REPO, "desktop", "peercollab-people")
SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"
MANAGER = SERVICE + ".Manager"
A11Y_SERVICE = "/usr/share/dbus-1/services/org.a11y.Bus.service"


def daemon_path():
    """The peercollabd this worktree built (swift build --product peercollabd)."""
    path = os.path.join(REPO, ".build", "debug", "peercollabd")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is missing: run swift build --product peercollabd first")
    return path


def ip(*args):
    result = subprocess.run([IP, *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr}")


def wait_for(what, condition, timeout=20.0, interval=0.05):
    """Polls `condition` until it returns something true, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        # Signals the test subscribed to on a daemon's bus arrive here.
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass
        try:
            last = condition()
        except Exception as error:  # a half-built tree or a bus still starting
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"never happened within {timeout} s: {what} (last: {last!r})")


class SignalClock:
    """Notes when a daemon's InterfacesAdded arrive, on a thread and connection of its own,
    so the time is when the signal came, not when the test next looked."""

    def __init__(self, address, interface):
        self.interface = interface
        self.added = {}
        self._ready = threading.Event()
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self._thread = threading.Thread(target=self._run, args=(address,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the signal clock did not connect")

    def _run(self, address):
        self._context.push_thread_default()
        self.connection = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.connection.signal_subscribe(
            SERVICE, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", ROOT, None,
            Gio.DBusSignalFlags.NONE, self._on_added)
        self._ready.set()
        self._loop.run()
        self.connection.close_sync(None)

    def _on_added(self, _connection, _sender, _path, _iface, _signal, parameters):
        path, interfaces = parameters.unpack()
        if self.interface in interfaces:
            self.added.setdefault(path, time.monotonic())

    def stop(self):
        self._context.invoke_full(GLib.PRIORITY_DEFAULT, self._loop.quit)
        self._thread.join(10)


class Lab:
    """`count` hosts on one link: 192.0.2.N/24 on eth0 in namespace pc<tag>h<N>."""

    def __init__(self, count, output):
        self.tag = secrets.token_hex(4)
        self.bridge = f"pcbr{self.tag}"
        self.namespaces = [f"pc{self.tag}h{i}" for i in range(count)]
        self.output = output
        self.hosts = []
        self.processes = []
        try:
            ip("netns", "add", self.bridge)
            ip("-n", self.bridge, "link", "set", "lo", "up")
            ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
            ip("-n", self.bridge, "link", "set", "br0", "up")
            for index, ns in enumerate(self.namespaces):
                ip("netns", "add", ns)
                ip("-n", ns, "link", "set", "lo", "up")
                ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"p{index}",
                   "netns", self.bridge)
                ip("-n", self.bridge, "link", "set", f"p{index}", "master", "br0")
                ip("-n", self.bridge, "link", "set", f"p{index}", "up")
                ip("-n", ns, "addr", "add", f"192.0.2.{index + 1}/24", "dev", "eth0")
                ip("-n", ns, "link", "set", "eth0", "up")
        except Exception:
            self.close()
            raise

    def spawn(self, args, log, env=None, **kwargs):
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def close(self):
        for host in self.hosts:
            host.close()
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in reversed(self.processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        for ns in self.namespaces + [self.bridge]:
            pids = subprocess.run([IP, "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run([IP, "netns", "del", ns], capture_output=True)


class Host:
    """One user on one host: a session bus whose only service folder is the test's own
    (the a11y bus launcher and this daemon), an Xvfb display, and the app when started."""

    def __init__(self, lab, index, name, width=800, height=600):
        self.lab = lab
        self.index = index
        self.name = name
        self.home = os.path.join(lab.output, f"host{index}")
        os.makedirs(self.home, exist_ok=True)
        self.app = None
        self.app_log = os.path.join(self.home, "app.log")
        self.daemon_log = os.path.join(self.home, "daemon.log")
        # The user's own folders, so that nothing the app, GTK or the accessibility bus keep
        # (recent files, caches, sockets) goes into the home of whoever runs the tests.
        self.env = dict(os.environ)
        for name, folder in (("HOME", "home"), ("XDG_DATA_HOME", "home/.local/share"),
                             ("XDG_CONFIG_HOME", "home/.config"), ("XDG_CACHE_HOME", "home/.cache"),
                             ("XDG_RUNTIME_DIR", "run")):
            self.env[name] = os.path.join(self.home, folder)
            os.makedirs(self.env[name], mode=0o700, exist_ok=True)
        for name in ("DBUS_SESSION_BUS_ADDRESS", "AT_SPI_BUS_ADDRESS", "WAYLAND_DISPLAY"):
            self.env.pop(name, None)
        self._start_display(width, height)
        self._start_bus()
        self.bus = Gio.DBusConnection.new_for_address_sync(
            self.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        lab.hosts.append(self)

    def _start_display(self, width, height):
        read, write = os.pipe()
        self.xvfb = self.lab.spawn(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            open(os.path.join(self.home, "xvfb.log"), "w"), pass_fds=(write,))
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start: see " + os.path.join(self.home, "xvfb.log"))
        self.display = f":{number}"

    def _start_bus(self):
        services = os.path.join(self.home, "services")
        os.makedirs(services, exist_ok=True)
        shutil.copy(A11Y_SERVICE, services)
        starter = os.path.join(self.home, "start-peercollabd")
        data = os.path.join(self.home, "daemon")
        # Bus activation runs this; the daemon goes into the host's namespace.
        with open(starter, "w") as file:
            file.write(
                "#!/bin/sh\n"
                f"exec {IP} netns exec {self.lab.namespaces[self.index]} {daemon_path()} "
                f'--bus "$DBUS_STARTER_ADDRESS" --config-dir {data}/config --data-dir {data}/data '
                f"--port 0 --interfaces eth0 --discovery builtin >>{self.daemon_log} 2>&1\n")
        os.chmod(starter, 0o755)
        with open(os.path.join(services, SERVICE + ".service"), "w") as file:
            file.write(f"[D-BUS Service]\nName={SERVICE}\nExec={starter}\n")
        os.makedirs(os.path.join(data, "config"), exist_ok=True)
        with open(os.path.join(data, "config", "settings.json"), "w") as file:
            file.write(f'{{"displayName": "{self.name}"}}\n')
        config = os.path.join(self.home, "session.conf")
        sockets = os.path.join(self.home, "bus")
        os.makedirs(sockets, exist_ok=True)
        with open(config, "w") as file:
            file.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={sockets}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
        env = dict(self.env, DISPLAY=self.display, PEERCOLLAB_LOG_LEVEL="debug")
        read, write = os.pipe()
        self.dbus = self.lab.spawn(
            ["dbus-daemon", "--config-file", config, "--nofork", "--nopidfile", f"--print-address={write}"],
            open(os.path.join(self.home, "bus.log"), "w"), env=env, pass_fds=(write,))
        os.close(write)
        with os.fdopen(read) as pipe:
            self.address = pipe.readline().strip()
        if not self.address:
            raise RuntimeError("dbus-daemon did not start")

    # The daemon, as a script would call it (for the other side of a test, and for checks).

    def call(self, path, interface, method, args=None, timeout=60):
        reply = self.bus.call_sync(SERVICE, path, interface, method, args, None,
                                   Gio.DBusCallFlags.NONE, int(timeout * 1000), None)
        return reply.unpack()

    def manager(self, method, args=None, timeout=60):
        return self.call(ROOT, MANAGER, method, args, timeout)

    def get(self, path, interface, name):
        return self.call(path, "org.freedesktop.DBus.Properties", "Get",
                         GLib.Variant("(ss)", (interface, name)))[0]

    def me(self, name):
        return self.get(ROOT, MANAGER, name)

    def managed_objects(self):
        return self.call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")[0]

    def register_application(self, app_id, name):
        self.manager("RegisterApplication", GLib.Variant("(sa{sv})", (app_id, {"name": GLib.Variant("s", name)})))

    def a11y_address(self):
        """The accessibility bus of this host's session (its launcher started by activation)."""
        return self.bus.call_sync("org.a11y.Bus", "/org/a11y/bus", "org.a11y.Bus", "GetAddress", None,
                                  None, Gio.DBusCallFlags.NONE, 30000, None).unpack()[0]

    # The app

    def start_app(self, a11y_address, extra_args=()):
        env = dict(self.env, DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.address,
                   AT_SPI_BUS_ADDRESS=a11y_address, GDK_BACKEND="x11", GSK_RENDERER="cairo",
                   PEERCOLLAB_PEOPLE_TIMING="1", GTK_A11Y="atspi")
        self.app_started = time.monotonic()
        self.app = self.lab.spawn(["/usr/bin/python3", APP, *extra_args], open(self.app_log, "a"), env=env)
        return self.app

    def run_app_command(self, a11y_address, *args):
        """Runs the app again with arguments: the running instance gets them (GApplication)."""
        env = dict(self.env, DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.address,
                   AT_SPI_BUS_ADDRESS=a11y_address, GDK_BACKEND="x11", GSK_RENDERER="cairo")
        subprocess.run(["/usr/bin/python3", APP, *args], env=env, timeout=30, check=True,
                       capture_output=True)

    def timings(self):
        """The app's `timing` lines: [(monotonic seconds, event, detail)]."""
        result = []
        with open(self.app_log) as file:
            for line in file:
                if line.startswith("timing "):
                    _t, when, event, *rest = line.rstrip("\n").split(" ", 3)
                    result.append((float(when), event, rest[0] if rest else ""))
        return result

    def screenshot(self, name):
        path = os.path.join(self.lab.output, f"{name}.png")
        xwd = subprocess.run(["xwd", "-root", "-silent", "-display", self.display], capture_output=True,
                             timeout=30, check=True)
        subprocess.run(["convert", "xwd:-", path], input=xwd.stdout, timeout=30, check=True)
        return path

    def resize(self, width, height):
        subprocess.run(["xdotool", "search", "--sync", "--pid", str(self.app.pid), "--name", "People",
                        "windowsize", "%@", str(width), str(height)],
                       env=dict(os.environ, DISPLAY=self.display), timeout=30, check=True, capture_output=True)

    def daemon_pid(self):
        return self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "GetConnectionUnixProcessID", GLib.Variant("(s)", (SERVICE,)), None,
                                  Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]

    def close(self):
        if self.app is not None and self.app.poll() is None:
            self.app.terminate()
