"""The inviter's side of an application: the daemon starts the application on the invited
side when its user accepts; on my side, People starts it when an invitation it sent is
accepted, the same way (its registered command, with PEERCOLLAB_INVITATION set), so that
both sides meet in the application."""
import os

from gi.repository import GLib

from . import daemon as d


class OutgoingLauncher:
    def __init__(self, window, daemon):
        self.window = window
        self.daemon = daemon
        self.sent = set()  # outgoing invitations this app sent and has not started yet
        daemon.connect("object-changed", self._changed)

    def watch(self, invitation_path):
        self.sent.add(invitation_path)
        self._changed(self.daemon, "Invitation", invitation_path, None)

    def _changed(self, _daemon, kind, path, _names):
        if kind != "Invitation" or path not in self.sent:
            return
        proxy = self.daemon.get("Invitation", path)
        state = d.prop(proxy, "State", "pending")
        if state == "pending":
            return
        self.sent.discard(path)
        if state == "accepted":
            self._start(d.prop(proxy, "ApplicationId", ""), path)

    def _start(self, app_id, invitation_path):
        command = next((d.prop(p, "Exec", []) for p in self.daemon.objects["Application"].values()
                        if d.prop(p, "Id") == app_id), [])
        if not command:
            return  # registered without a command: the application watches its invitations itself
        env = [f"{k}={v}" for k, v in os.environ.items() if k != "PEERCOLLAB_INVITATION"]
        env.append(f"PEERCOLLAB_INVITATION={invitation_path}")
        try:
            GLib.spawn_async(command, envp=env, flags=GLib.SpawnFlags.SEARCH_PATH)
        except GLib.Error as error:
            self.window.toast(f"Could not start {self.daemon.application_name(app_id)}: {error.message}")
            return
        self.window.toast(f"{self.daemon.application_name(app_id)} started")
