"""peercollab Board: a shared drawing board for two, started by an accepted invitation."""
APP_ID = "org.peercollab.Board"
