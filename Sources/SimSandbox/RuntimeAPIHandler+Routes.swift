import SimCore
import SimDomain
import SimHTTP

/// The sandbox's HTTP surface: Runtime API 2018-06-01 and Extensions API 2020-01-01.
extension RuntimeAPIHandler: HTTPResponderCloseObserver {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let sandbox else { return }
        let route = RuntimeAPIRoute(method: request.method, path: request.path)
        catchUpOutput(before: route, sandbox)
        switch route {
        case .next:
            let (reply, actions) = sandbox.machine.runtimeNext()
            switch reply {
            case .hold:
                runtimeWaiters.append(responder)
                // A runtime gone from the connection leaves no waiter behind (`responderConnectionClosed`).
                responder.closeObserver = self
                sandbox.perform(actions)
            case .invocation(let invocation, let deadline, let invocationID):
                RuntimeAPIResponses.sendNext(
                    invocation, deadlineEpochMilliseconds: deadline, invocationID: invocationID, to: responder)
                if sandbox.function.isManagedInstance {
                    sandbox.noteWorker(of: responder, running: invocation.requestID)
                }
                sandbox.perform(actions)
            case .accepted, .error:
                responder.send(RuntimeAPIResponses.reply(reply))
                sandbox.perform(actions)
            }
        case .response(let requestID):
            if let stream = request.bodyStream {
                handleStreamedResponse(request, stream, responder, requestID: requestID, sandbox)
            } else {
                handleResult(request, responder, requestID: requestID, isError: false, sandbox)
            }
        case .error(let requestID):
            handleResult(request, responder, requestID: requestID, isError: true, sandbox)
        case .initError:
            let errorType = request.headers[RuntimeAPIResponses.errorTypeHeader] ?? "Runtime.Unknown"
            let body = request.body
            let contentType = JSON.isValid(body) ? "application/json" : "application/octet-stream"
            let outcome = InvokeOutcome.functionError(body: body, contentType: contentType, errorType: errorType)
            let (reply, actions) = sandbox.machine.runtimeInitError(outcome: outcome, errorType: errorType)
            responder.send(RuntimeAPIResponses.reply(reply))
            sandbox.perform(actions)
        case .ping:
            responder.send(HTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array("pong".utf8)))
        case .extensionRegister:
            let registration = ExtensionRegistration(
                name: request.headers[ExtensionAPIResponses.nameHeader], body: request.body)
            let (reply, actions) = sandbox.machine.extensionRegister(registration, newID: Identifiers.uuid())
            if case .registered(let ext) = reply {
                responder.send(
                    ExtensionAPIResponses.registered(
                        ext, function: sandbox.function,
                        acceptFeature: request.headers[ExtensionAPIResponses.acceptFeatureHeader]))
            } else {
                respond(reply, responder)
            }
            sandbox.perform(actions)
        case .extensionNext:
            let identifier = request.headers[ExtensionAPIResponses.identifierHeader]
            let (reply, actions) = sandbox.machine.extensionNext(identifier: identifier)
            if case .hold = reply, let identifier {
                let id = identifier.lowercased()
                extensionWaiters[id] = responder
                responder.onConnectionClose = { [weak self] in
                    guard let self, self.extensionWaiters[id] === responder else { return }
                    self.extensionWaiters[id] = nil
                    self.sandbox?.machine.extensionNextAbandoned(id: id)
                }
            } else {
                respond(reply, responder)
            }
            sandbox.perform(actions)
        case .extensionInitError:
            let (reply, actions) = sandbox.machine.extensionInitError(
                identifier: request.headers[ExtensionAPIResponses.identifierHeader],
                errorType: request.headers[ExtensionAPIResponses.errorTypeHeader])
            respond(reply, responder)
            sandbox.perform(actions)
        case .extensionExitError:
            let (reply, actions) = sandbox.machine.extensionExitError(
                identifier: request.headers[ExtensionAPIResponses.identifierHeader],
                errorType: request.headers[ExtensionAPIResponses.errorTypeHeader])
            respond(reply, responder)
            sandbox.perform(actions)
        case .telemetrySubscribe:
            sandbox.subscribe(request, responder, api: .telemetry)
        case .logsSubscribe:
            sandbox.subscribe(request, responder, api: .logs)
        case .notFound:
            responder.send(RuntimeAPIResponses.notFound)
        case .methodNotAllowed(let allow):
            responder.send(HTTPResponse(status: 405, headers: ["Allow": allow]))
        }
    }

    /// A held `/next` whose connection closed: the waiter goes.
    package func responderConnectionClosed(_ responder: HTTPResponder) {
        guard let index = runtimeWaiters.firstIndex(where: { $0 === responder }) else { return }
        runtimeWaiters.remove(at: index)
        sandbox?.machine.runtimeNextAbandoned()
    }

    /// Delivers what the process that sent a request printed before sending it, so that its lines are attributed
    /// and ordered as they happened (an invoke's lines before its END).
    private func catchUpOutput(before route: RuntimeAPIRoute, _ sandbox: Sandbox) {
        switch route {
        case .next, .response, .error, .initError: sandbox.supervisor.drainRuntimeOutput()
        case .ping, .notFound, .methodNotAllowed: break
        case .extensionRegister, .extensionNext, .extensionInitError, .extensionExitError, .telemetrySubscribe,
            .logsSubscribe:
            sandbox.supervisor.drainExtensionOutput()
        }
    }

    private func respond(_ reply: SandboxStateMachine.ExtensionReply, _ responder: HTTPResponder) {
        switch reply {
        case .hold, .registered:
            break
        case .event(let event):
            responder.send(ExtensionAPIResponses.event(event))
        case .accepted:
            responder.send(RuntimeAPIResponses.reply(.accepted))
        case .error(let rejection):
            responder.send(RuntimeAPIResponses.error(RuntimeAPIError(rejection)))
        }
    }

    private func handleResult(
        _ request: HTTPRequest, _ responder: HTTPResponder, requestID: String, isError: Bool, _ sandbox: Sandbox
    ) {
        let mode = request.headers[RuntimeAPIResponses.responseModeHeader]
        let outcome =
            isError ? RuntimeAPIResponses.errorOutcome(request) : RuntimeAPIResponses.responseOutcome(request)
        let (reply, actions) = sandbox.machine.runtimeResult(
            requestID: requestID, isError: isError, outcome: .runtime(outcome),
            tooLargeBytes: request.bodyTooLarge ? request.bodyLength : nil,
            invalidResponseMode: !isError && mode != nil && mode != "streaming",
            invocationID: request.headers[RuntimeAPIResponses.invocationIDHeader])
        if case .accepted = reply {
            responder.send(RuntimeAPIResponses.accepted)
            // A managed instance's /error during its streamed response ended the invoke: the rest is dropped.
            if isError, let stream = activeResponseStreams[requestID] { stream.discard() }
        } else {
            responder.send(RuntimeAPIResponses.reply(reply))
        }
        sandbox.perform(actions)
    }
}
