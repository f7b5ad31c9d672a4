import DBus

extension AvahiBackend {
    public func diagnose() async -> DiscoveryDiagnosis {
        var checks: [DiscoveryDiagnosis.Check] = []
        guard let owner = daemonOwner else {
            let absent = AvahiError.notRunning(bus: "the system bus")
            checks.append(.init(subject: "avahi-daemon", ok: false, detail: "not on the bus", advice: absent.message))
            return DiscoveryDiagnosis(backend: name, checks: checks)
        }
        let version = (try? await callServer("GetVersionString").first?.stringValue) ?? "unknown version"
        checks.append(.init(subject: "avahi-daemon", ok: true, detail: "\(version), bus name owned by \(owner)"))

        let rawState = try? await callServer("GetState").first?.int32Value
        let state = rawState.flatMap(Avahi.ServerState.init(rawValue:)) ?? serverState
        let stateAdvice: String
        switch state {
        case .running: stateAdvice = ""
        case .registering: stateAdvice = "Wait a few seconds; Avahi is still claiming its host name."
        case .collision:
            stateAdvice = "Another machine uses this host name; give this one a unique name (hostnamectl set-hostname)."
        case .failure, .invalid:
            stateAdvice = "See `journalctl -u avahi-daemon` and restart it (systemctl restart avahi-daemon)."
        }
        checks.append(.init(subject: "Avahi server", ok: state == .running, detail: state.label, advice: stateAdvice))

        let host = (try? await callServer("GetHostNameFqdn").first?.stringValue) ?? "unknown"
        checks.append(.init(subject: "host name", ok: true, detail: host))

        if let service = announcement {
            let live = group.flatMap { _ in groupState }
            let established = live == .established
            var detail = "\(currentInstanceName ?? service.instanceName).\(ServiceAnnouncement.serviceType) "
                + "port \(service.port): \(live?.label ?? "not registered")"
            if renameCount > 0 { detail += " (renamed \(renameCount) time(s) after name collisions)" }
            if let problem = lastGroupProblem { detail += "; \(problem)" }
            let advice =
                established || live == .registering
                ? ""
                : "Check that avahi-daemon is running and allowed on the network interfaces "
                    + "(allow-interfaces/deny-interfaces in /etc/avahi/avahi-daemon.conf)."
            checks.append(.init(subject: "our announcement", ok: established, detail: detail, advice: advice))
        } else {
            checks.append(.init(subject: "our announcement", ok: true, detail: "not announcing"))
        }

        if !streams.isEmpty {
            let ok = browser != nil && browserProblem == nil
            var detail = ok ? "browsing, \(instances.count) service(s) known" : "not browsing"
            if let browserProblem { detail += "; \(browserProblem)" }
            if droppedServices > 0 { detail += "; \(droppedServices) ignored beyond the limit of \(options.maxServices)" }
            checks.append(
                .init(
                    subject: "browsing", ok: ok, detail: detail,
                    advice: ok ? "" : "Restart avahi-daemon, or set the discovery backend to 'builtin'."))
        }
        if options.allowedInterfaces != nil || !options.deniedInterfaces.isEmpty {
            let allowed = options.allowedInterfaces.map { $0.sorted().joined(separator: ", ") } ?? "all"
            let denied = options.deniedInterfaces.sorted().joined(separator: ", ")
            checks.append(
                .init(subject: "interfaces", ok: true, detail: "allowed: \(allowed); denied: \(denied.isEmpty ? "none" : denied)"))
        }
        return DiscoveryDiagnosis(backend: name, checks: checks)
    }
}
