import SimCore

/// Extensions API events: launch, registration, `/event/next`, error reports and extension exits.
extension SandboxStateMachine {
    /// What an Extensions API request gets back.
    package enum ExtensionReply: Equatable, Sendable {
        /// Hold `/event/next` open.
        case hold
        /// 200 with the registration (identifier header and function metadata body).
        case registered(ExtensionRegistry.Extension)
        /// 200 with this event.
        case event(ExtensionEvent)
        /// 202 `{"status":"OK"}`.
        case accepted
        /// A refusal, which the handler answers with Lambda's 403.
        case error(ExtensionRejection)
    }

    /// The sandbox launched these external extensions (file names); the runtime starts once all registered.
    ///
    /// Only as the sandbox performs `launchExtensions`, at the start of an init (nothing has registered yet).
    package mutating func extensionsLaunched(names: [String]) -> [Action] {
        guard case .initializing(var i) = state, !i.runtimeSpawned else {
            preconditionFailure("extensionsLaunched in \(state): only while performing launchExtensions")
        }
        extensions.launch(names: names)
        guard names.isEmpty else { return [] }
        i.runtimeSpawned = true
        state = .initializing(i)
        return [.spawnRuntime]
    }

    /// The sandbox found these external extensions (file names, sorted) to launch: nil when it may launch them all;
    /// else the init fails as Lambda's does when there are more than `ExtensionRegistry.maxExtensions`
    /// (`Extension.LaunchError`, `TooManyExtensions`), with these actions. Only as the sandbox performs
    /// `launchExtensions`.
    package mutating func extensionsFound(names: [String]) -> [Action]? {
        let limit = ExtensionRegistry.maxExtensions
        guard names.count > limit else { return nil }
        return extensionLaunchFailed(
            name: names[limit], reason: "TooManyExtensions: extension limit (\(limit)) reached")
    }

    /// An extension could not be started, for `reason`. Only as the sandbox performs `launchExtensions`.
    package mutating func extensionLaunchFailed(name: String, reason: String) -> [Action] {
        guard case .initializing = state else {
            preconditionFailure("extensionLaunchFailed in \(state): only while performing launchExtensions")
        }
        return failInit(.platform(.extensionLaunch(reason: reason)))
    }

    /// `POST /2020-01-01/extension/register`.
    /// `POST /2020-01-01/extension/register`, as read by the handler; the extension is known as `newID` from now on.
    package mutating func extensionRegister(
        _ registration: ExtensionRegistration, newID: String
    ) -> (ExtensionReply, [Action]) {
        switch extensions.register(registration, newID: newID) {
        case .failure(let error):
            return (.error(error), [])
        case .success(let registered):
            var actions: [Action] = []
            if case .initializing(var i) = state, !i.runtimeSpawned, extensions.allLaunchedRegistered {
                i.runtimeSpawned = true
                state = .initializing(i)
                actions.append(.spawnRuntime)
            }
            return (.registered(registered), actions)
        }
    }

    /// `GET /2020-01-01/extension/event/next`.
    package mutating func extensionNext(identifier: String?) -> (ExtensionReply, [Action]) {
        let ext: ExtensionRegistry.Extension
        switch extensions.identify(identifier) {
        case .failure(let rejection): return (.error(rejection.rejection()), [])
        case .success(let found): ext = found
        }
        switch ext.state {
        case .registered, .ready, .running:
            break
        case .initError, .exitError, .exited:
            return (.error(.invalidTransition(from: ext.state, to: .ready, id: ext.id)), [])
        }
        var reply = ExtensionReply.hold
        var holdingShutdown = false
        if case .resetting(let r) = state { holdingShutdown = r.holdingShutdown }
        extensions.update(ext.id) { e in
            if let event = e.pendingEvent, !holdingShutdown {
                e.pendingEvent = nil
                e.state = .running
                e.waiting = false
                reply = .event(event)
            } else {
                e.state = .ready
                e.waiting = true
            }
        }
        var actions: [Action] = []
        switch state {
        case .initializing:
            actions = finishInitIfReady()
        case .running(var r) where r.pendingExtensions.contains(ext.id):
            r.pendingExtensions.remove(ext.id)
            state = .running(r)
            actions = finishInvokeIfDone()
        default:
            break
        }
        return (reply, actions)
    }

    /// The extension's held `/event/next` connection went away.
    package mutating func extensionNextAbandoned(id: String) {
        extensions.update(id) { $0.waiting = false }
    }

    /// `POST /2020-01-01/extension/init/error`: allowed once registered and before its first `/event/next`.
    package mutating func extensionInitError(identifier: String?, errorType: String?) -> (ExtensionReply, [Action]) {
        let ext: ExtensionRegistry.Extension
        let reportedType: String
        switch identifyErrorReport(identifier: identifier, errorType: errorType) {
        case .failure(let error): return (.error(error), [])
        case .success(let found): (ext, reportedType) = found
        }
        if ext.state == .initError { return (.accepted, []) }
        guard ext.state == .registered else {
            return (.error(.invalidTransition(from: ext.state, to: .initError, id: ext.id)), [])
        }
        extensions.update(ext.id) { $0.state = .initError }
        guard case .initializing = state else { return (.accepted, []) }
        return (.accepted, failInit(.platform(.extensionInitError(name: ext.name, reportedType: reportedType))))
    }

    /// `POST /2020-01-01/extension/exit/error`: recorded; the extension is expected to exit.
    package mutating func extensionExitError(identifier: String?, errorType: String?) -> (ExtensionReply, [Action]) {
        let ext: ExtensionRegistry.Extension
        let reportedType: String
        switch identifyErrorReport(identifier: identifier, errorType: errorType) {
        case .failure(let error): return (.error(error), [])
        case .success(let found): (ext, reportedType) = found
        }
        guard [.registered, .ready, .running].contains(ext.state) else {
            return (.error(.invalidTransition(from: ext.state, to: .exitError, id: ext.id)), [])
        }
        extensions.update(ext.id) { $0.state = .exitError }
        return (
            .accepted,
            [.publish(.extensionExitError(name: ext.name, errorType: reportedType), requestID: currentRequestID)]
        )
    }

    /// The checks of `/init/error` and `/exit/error`, in Lambda's order: the identifier's presence and form
    /// (a middleware), then the error-type header, then whether the identifier is known.
    private func identifyErrorReport(
        identifier: String?, errorType: String?
    ) -> Result<(ExtensionRegistry.Extension, String), ExtensionRejection> {
        let identified = extensions.identify(identifier)
        if case .failure(let rejection) = identified, rejection == .missing || rejection == .invalid {
            return .failure(rejection.rejection(errorReport: true))
        }
        guard let errorType, !errorType.isEmpty else { return .failure(.missingErrorType) }
        switch identified {
        case .failure(let rejection): return .failure(rejection.rejection(errorReport: true))
        case .success(let ext): return .success((ext, errorType))
        }
    }

    /// An external extension's process exited. Outside a shutdown this fails init or the invoke; with no
    /// processes meant to run (`idle`, `resetting`, `shutDown`) it is the end of one being stopped, and changes
    /// nothing.
    package mutating func extensionExited(name: String, status: ExitStatus) -> [Action] {
        var id: String?
        for ext in extensions.extensions where ext.isExternal && ext.name == name { id = ext.id }
        if let id { extensions.update(id) { $0.state = .exited } }
        return processFailed(.extensionExit(name: name, status: status))
    }
}
