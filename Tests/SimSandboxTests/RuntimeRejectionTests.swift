import SimDomain
import Testing

@testable import SimSandbox

@Suite struct RuntimeRejectionTests {
    /// Each refusal the machine decides is answered with the status, type and message of Lambda's agent.
    @Test func rendersAsLambdasAgent() {
        let cases: [(RuntimeRejection, Int, String)] = [
            (.invalidRequestID, 400, "InvalidRequestID"),
            (.invokeTimeout, 410, "InvokeTimeout"),
            (.tooManyIdleRuntimes, 500, "InternalServerError"),
            (.invalidResponseMode, 400, "InvalidFunctionResponseMode"),
            (.payloadTooLarge, 413, "RequestEntityTooLarge"),
            (.truncatedRequest, 400, "TruncatedHTTPRequest"),
            (.invalidTransition(from: .responseSent, to: .invocationErrorResponse), 403, "InvalidStateTransition"),
        ]
        for (rejection, status, errorType) in cases {
            #expect(RuntimeAPIError(rejection).status == status)
            #expect(RuntimeAPIError(rejection).errorType == errorType)
        }
        #expect(
            RuntimeAPIError(.invalidTransition(from: .streaming, to: .invocationErrorResponse)).errorMessage
                == "State transition from RuntimeResponseStreamingState to InvocationErrorResponse failed for runtime."
                + " Error: State transition is not allowed")
    }
}
