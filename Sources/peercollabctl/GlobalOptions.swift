import ArgumentParser

/// Options every verb takes.
struct GlobalOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    @Option(name: .customLong("bus"), help: ArgumentHelp("Talk to the daemon on the bus at this address instead of the session bus.", valueName: "address"))
    var busAddress: String?
}
