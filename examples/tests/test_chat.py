"""The chat example's whole flow, driven as two people would in two terminals (tmux):
Bob registers Chat, Ann invites him, Bob accepts with peercollabctl, the daemon starts the
chat on Bob's side (in a new window of his terminal), and lines go both ways."""
import os

from support import REPO
from lab import wait_for
from terminal import Terminal

CHAT = os.path.join(REPO, "examples", "chat", "peercollab-chat")
BIN = os.path.join(REPO, ".build", "debug")


def terminal_of(host):
    env = dict(host.env, DBUS_SESSION_BUS_ADDRESS=host.address, PATH=f"{BIN}:{os.environ['PATH']}",
               TERM="xterm-256color")
    env.pop("TMUX", None)
    return Terminal(host, env)


def invitation_of(host):
    for path, interfaces in host.managed_objects().items():
        invitation = interfaces.get("org.peercollab.PeerCollab1.Invitation")
        if invitation and invitation["State"] == "pending" and invitation["Direction"] == "incoming":
            return invitation["Id"]
    return None


def test_register_invite_accept_and_talk(pair):
    lab, ann, bob = pair
    ann_term, bob_term = terminal_of(ann), terminal_of(bob)
    try:
        for term in (ann_term, bob_term):
            term.type("peercollabctl signin near-me")
            term.wait_text("signed in", "Signed in: near-me")
        bob_term.type(f"{CHAT} register")
        bob_term.wait_text("Chat registered", "Chat is registered")
        wait_for("Ann sees Bob near her, with Chat", lambda: any(
            p.get("DisplayName") == "Bob" and "org.peercollab.Chat" in p.get("Applications", [])
            for i in ann.managed_objects().values() if (p := i.get("org.peercollab.PeerCollab1.Peer"))))

        ann_term.type(f"{CHAT} invite bob")
        ann_term.wait_text("Ann's chat waits for Bob", "Invited Bob; waiting for an answer")
        invitation = wait_for("the invitation reaches Bob", lambda: invitation_of(bob))
        bob_term.type("peercollabctl invitations")
        bob_term.wait_text("Bob's list shows it", invitation)
        bob_term.type(f"peercollabctl accept {invitation}")
        # The daemon started Chat for Bob, which opened a window in Bob's terminal.
        wait_for("a chat window in Bob's terminal", lambda: "chat" in bob_term.windows())
        bob_term.wait_text("Bob's chat is connected", "Connected to Ann.", window="chat")
        ann_term.wait_text("Ann's chat is connected", "Connected to Bob.")

        ann_term.type("Shall we draw?")
        bob_term.wait_text("Ann's line on Bob's side", "Ann: Shall we draw?", window="chat")
        bob_term.type("Yes, open the board", window="chat")
        ann_term.wait_text("Bob's line on Ann's side", "Bob: Yes, open the board")
        ann_term.save("chat-ann")
        bob_term.save("chat-bob", window="chat")

        bob_term.key("C-d", window="chat")
        ann_term.wait_text("Ann is told Bob left", "*** Bob left.")
        ann_term.save("chat-ann-bob-left")
    finally:
        ann_term.close()
        bob_term.close()
