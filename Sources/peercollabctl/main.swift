print("peercollabctl")
