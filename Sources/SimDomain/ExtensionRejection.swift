/// Why the Extensions API refuses an extension's call, as `ExtensionRegistry` and `SandboxStateMachine` decide it.
/// Every refusal is a 403; `RuntimeAPIError(_:)` (`ExtensionAPIResponses.swift`) words it as Lambda's agent does.
package enum ExtensionRejection: Error, Equatable, Sendable {
    /// The register body is not a registration (`InvalidRequestFormat`); `reason` as the handler's reader found it.
    case invalidRequest(reason: String)
    /// The register body names an event type that does not exist, `shown` as it was written.
    case invalidEventType(shown: String)
    /// `Lambda-Extension-Name` is missing or empty.
    case invalidExtensionName
    /// Managed instances: an internal extension subscribed to events.
    case eventsForInternalExtension
    /// Managed instances: an extension subscribed to INVOKE, which they never deliver.
    case invokeNotDelivered
    /// An internal extension subscribed to SHUTDOWN.
    case shutdownForInternalExtension
    /// An internal extension registered after the runtime's first `/next`.
    case registrationClosed
    /// An internal extension registered under a name already taken.
    case nameTaken
    /// One more extension than Lambda's limit.
    case tooManyExtensions(limit: Int)
    /// The extension's state does not allow the call; `id` as Lambda names the extension (its name when an external
    /// extension registers twice).
    case invalidTransition(from: ExtensionRegistry.State, to: Target, id: String)
    /// `Lambda-Extension-Identifier` is missing or empty.
    case missingIdentifier
    /// `Lambda-Extension-Identifier` is not a UUID.
    case invalidIdentifier
    /// `/event/next` (or a subscription) with an identifier no extension has.
    case unknownExtension(identifier: String)
    /// `/init/error` or `/exit/error` with an identifier no extension has.
    case unknownReporter
    /// `/init/error` or `/exit/error` without `Lambda-Extension-Function-Error-Type`.
    case missingErrorType

    /// The state a refused call would have moved the extension to (Lambda's names, which appear in 403 messages).
    package enum Target: String, Equatable, Sendable {
        case registered = "Registered"
        case ready = "Ready"
        case initError = "InitError"
        case exitError = "ExitError"
    }
}
