"""A terminal as a person uses it: a tmux server of one user (their environment, their
session bus), keys typed into a window, and the window's text read back."""
import os
import subprocess

from lab import wait_for


class Terminal:
    def __init__(self, host, env):
        self.host = host
        self.socket = os.path.join(host.home, "tmux.sock")
        self.env = env
        # A plain shell: a login shell's profile would reset PATH and the prompt.
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "user", "-x", "160", "-y", "40",
                  "env PS1='$ ' bash --norc --noprofile")
        # A window whose program ended stays, with its last words (for the failure message).
        self.tmux("set-option", "-g", "remain-on-exit", "on")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def type(self, text, window="0", enter=True):
        self.tmux("send-keys", "-t", f"user:{window}", "-l", text)
        if enter:
            self.tmux("send-keys", "-t", f"user:{window}", "Enter")

    def key(self, key, window="0"):
        self.tmux("send-keys", "-t", f"user:{window}", key)

    def text(self, window="0"):
        return self.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", f"user:{window}")

    def windows(self):
        return self.tmux("list-windows", "-F", "#{window_name}").split()

    def wait_text(self, what, text, window="0", timeout=30):
        try:
            return wait_for(what, lambda: text in self.text(window), timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}\nthe terminal showed:\n{self.text(window)}") from None

    def save(self, name, window="0"):
        with open(os.path.join(self.host.lab.output, f"{name}.txt"), "w") as file:
            file.write(self.text(window))

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=30)
