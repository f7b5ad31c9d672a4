"""peercollab People: a GTK 4 / libadwaita window onto the peercollabd daemon."""
APP_ID = "org.peercollab.People"
