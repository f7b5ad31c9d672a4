print("peercollabd")
