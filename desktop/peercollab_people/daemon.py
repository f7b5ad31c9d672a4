"""The daemon as the views see it: objects from ObjectManager, changes from
PropertiesChanged, calls that report errors in words. Nothing here polls."""
from gi.repository import Gio, GLib, GObject

SERVICE = "org.peercollab.PeerCollab1"
ROOT = "/org/peercollab/PeerCollab1"
PREFIX = "org.peercollab.PeerCollab1."
MANAGER = PREFIX + "Manager"
KINDS = ("Peer", "Contact", "Invitation", "Application")

STATUSES = [
    ("online", "Online"),
    ("busy", "Busy"),
    ("be-right-back", "Be right back"),
    ("away", "Away"),
    ("on-the-phone", "On the phone"),
    ("out-to-lunch", "Out to lunch"),
    ("idle", "Idle"),
    ("offline", "Appear offline"),
]
STATUS_LABELS = dict(STATUSES)


def status_label(status):
    """Someone's presence status in words (an unknown one as it came). "offline" from a
    connected peer: it chose to appear offline, or does not share presence with me."""
    if status in ("offline", ""):
        return "Offline"
    return STATUS_LABELS.get(status, status)


def error_text(error):
    """What a failed call says, without the D-Bus error name in front."""
    if isinstance(error, GLib.Error):
        if Gio.DBusError.is_remote_error(error):
            Gio.DBusError.strip_remote_error(error)
        return error.message
    return str(error)


def prop(proxy, name, default=None):
    """A cached property of a proxy, unpacked; `default` while it is not known."""
    if proxy is None:
        return default
    value = proxy.get_cached_property(name)
    return default if value is None else value.unpack()


class Daemon(GObject.Object):
    """Holds the ObjectManager client and the Manager proxy for the app's lifetime
    (dropping the client would silently stop its signals).

    Signals: `object-added(kind, path)`, `object-changed(kind, path, names)`,
    `object-removed(kind, path)`, `manager-changed(names)`, `owner-changed(running)`.
    """

    __gsignals__ = {
        "object-added": (GObject.SignalFlags.RUN_FIRST, None, (str, str)),
        "object-changed": (GObject.SignalFlags.RUN_FIRST, None, (str, str, object)),
        "object-removed": (GObject.SignalFlags.RUN_FIRST, None, (str, str)),
        "manager-changed": (GObject.SignalFlags.RUN_FIRST, None, (object,)),
        "owner-changed": (GObject.SignalFlags.RUN_FIRST, None, (bool,)),
        "invitation-received": (GObject.SignalFlags.RUN_FIRST, None, (str,)),
        "failed": (GObject.SignalFlags.RUN_FIRST, None, (str,)),
    }

    def __init__(self):
        super().__init__()
        self.client = None
        self.manager = None
        self.connection = None
        self.objects = {kind: {} for kind in KINDS}

    def start(self):
        """Connects; the first call to the name starts the daemon by bus activation."""
        Gio.bus_get(Gio.BusType.SESSION, None, self._on_bus)

    def _on_bus(self, _source, result):
        try:
            self.connection = Gio.bus_get_finish(result)
        except GLib.Error as error:
            self.emit("failed", "No session bus: " + error_text(error))
            return
        # Activation first, so that the proxies below see an owner and load at once.
        self.connection.call(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "StartServiceByName", GLib.Variant("(su)", (SERVICE, 0)), None,
            Gio.DBusCallFlags.NONE, 30000, None, self._on_started)

    def _on_started(self, connection, result):
        try:
            connection.call_finish(result)
        except GLib.Error as error:
            self.emit("failed", "peercollabd could not be started: " + error_text(error))
        Gio.DBusProxy.new(
            self.connection, Gio.DBusProxyFlags.NONE, None, SERVICE, ROOT, MANAGER, None,
            self._on_manager)

    def _on_manager(self, _source, result):
        try:
            self.manager = Gio.DBusProxy.new_finish(result)
        except GLib.Error as error:
            self.emit("failed", error_text(error))
            return
        self.manager.connect("g-properties-changed", self._on_manager_properties)
        self.manager.connect("g-signal", self._on_manager_signal)
        self.manager.connect("notify::g-name-owner", self._on_owner)
        Gio.DBusObjectManagerClient.new(
            self.connection, Gio.DBusObjectManagerClientFlags.NONE, SERVICE, ROOT,
            None, None, None, self._on_client)

    def _on_client(self, _source, result):
        try:
            self.client = Gio.DBusObjectManagerClient.new_finish(result)
        except GLib.Error as error:
            self.emit("failed", error_text(error))
            return
        # A new object comes as object-added; interface-added is only for an object that
        # already had another interface.
        self.client.connect("object-added", lambda _c, obj: self._add_object(obj))
        self.client.connect("object-removed", lambda _c, obj: self._remove_object(obj))
        self.client.connect("interface-added", lambda _c, obj, iface: self._add(obj.get_object_path(), iface))
        self.client.connect("interface-removed", lambda _c, obj, iface: self._remove(obj.get_object_path(), iface))
        self.client.connect("interface-proxy-properties-changed", self._on_properties)
        for obj in self.client.get_objects():
            self._add_object(obj)
        self.emit("manager-changed", None)
        self.emit("owner-changed", self.manager.get_name_owner() is not None)

    def _add_object(self, obj):
        for iface in obj.get_interfaces():
            self._add(obj.get_object_path(), iface)

    def _remove_object(self, obj):
        for iface in obj.get_interfaces():
            self._remove(obj.get_object_path(), iface)

    @staticmethod
    def _kind(iface):
        name = iface.get_interface_name()
        if not name.startswith(PREFIX):
            return None
        kind = name[len(PREFIX):]
        return kind if kind in KINDS else None

    def _add(self, path, iface):
        kind = self._kind(iface)
        if kind is None:
            return
        self.objects[kind][path] = iface
        self.emit("object-added", kind, path)

    def _remove(self, path, iface):
        kind = self._kind(iface)
        if kind is None or self.objects[kind].pop(path, None) is None:
            return
        self.emit("object-removed", kind, path)

    def _on_properties(self, _client, _obj, proxy, changed, _invalidated):
        kind = self._kind(proxy)
        if kind is None:
            return
        self.emit("object-changed", kind, proxy.get_object_path(), set(changed.keys()))

    def _on_manager_properties(self, _proxy, changed, _invalidated):
        self.emit("manager-changed", set(changed.keys()))

    def _on_manager_signal(self, _proxy, _sender, signal, parameters):
        if signal == "InvitationReceived":
            self.emit("invitation-received", parameters.unpack()[0])

    def _on_owner(self, *_args):
        running = self.manager.get_name_owner() is not None
        if not running:
            # Every object went with the daemon.
            for kind in KINDS:
                for path in list(self.objects[kind]):
                    self.objects[kind].pop(path)
                    self.emit("object-removed", kind, path)
        self.emit("owner-changed", running)

    def restart(self):
        """Starts the daemon again by bus activation; the proxies see the new owner and
        the ObjectManager client announces its objects."""
        if self.connection is None:
            return
        self.connection.call(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "StartServiceByName", GLib.Variant("(su)", (SERVICE, 0)), None,
            Gio.DBusCallFlags.NONE, 30000, None, self._on_restarted)

    def _on_restarted(self, connection, result):
        try:
            connection.call_finish(result)
        except GLib.Error as error:
            self.emit("failed", "peercollabd could not be started: " + error_text(error))

    # Reading

    def get(self, kind, path):
        return self.objects[kind].get(path)

    def me(self, name, default=None):
        return prop(self.manager, name, default)

    def my_application_ids(self):
        return {prop(p, "Id", "") for p in self.objects["Application"].values()}

    def application_name(self, app_id):
        for proxy in self.objects["Application"].values():
            if prop(proxy, "Id") == app_id:
                return prop(proxy, "Name", app_id) or app_id
        return app_id

    def trust(self, peer_name):
        """Who a peer name is to me: "verified contact", "contact, not verified" or "not a
        contact" (the words of the Near me view).

        A display name is a claim anyone can make; wherever a person is named, this goes
        beside the name, so that a namesake of a contact never reads like the contact."""
        for contact in self.objects["Contact"].values():
            if peer_name and prop(contact, "PeerName", "") == peer_name:
                return "verified contact" if prop(contact, "Verified", False) else "contact, not verified"
        return "not a contact"

    def contact_for_peer(self, peer_path):
        contact = prop(self.get("Peer", peer_path), "Contact", "/")
        return self.get("Contact", contact) if contact and contact != "/" else None

    # Calling

    def call(self, path, interface, method, args=None, on_done=None, on_error=None, timeout_ms=60000):
        """Calls a method; `on_done(values)` with the unpacked reply, `on_error(text)` on failure."""
        def finished(connection, result):
            try:
                reply = connection.call_finish(result)
            except GLib.Error as error:
                if on_error:
                    on_error(error_text(error))
                else:
                    self.emit("failed", error_text(error))
                return
            if on_done:
                on_done(reply.unpack())

        if self.connection is None:
            (on_error or (lambda text: self.emit("failed", text)))("Not connected to the session bus.")
            return
        self.connection.call(
            SERVICE, path, interface, method, args, None, Gio.DBusCallFlags.NONE, timeout_ms, None, finished)

    def call_manager(self, method, args=None, on_done=None, on_error=None, timeout_ms=60000):
        self.call(ROOT, MANAGER, method, args, on_done, on_error, timeout_ms)

    def set_property(self, path, interface, name, value, on_error=None):
        """Writes a property; the change comes back through PropertiesChanged."""
        self.call(
            path, "org.freedesktop.DBus.Properties", "Set",
            GLib.Variant("(ssv)", (interface, name, value)), on_error=on_error)
