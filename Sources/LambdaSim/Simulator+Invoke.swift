import Foundation

extension Simulator {
    /// Invokes `function` with `payload` as UTF-8 text (a JSON document, usually); the other parameters are those
    /// of ``invoke(function:payload:type:logType:clientContext:qualifier:headers:)-(_,[UInt8],_,_,_,_,_)``.
    public func invoke(
        function: String, payload: String, type: InvocationType = .requestResponse, logType: LogType = .none,
        clientContext: String? = nil, qualifier: String? = nil, headers: [(String, String)] = []
    ) async throws -> InvokeClient.Response {
        try await invoke(
            function: function, payload: Array(payload.utf8), type: type, logType: logType,
            clientContext: clientContext, qualifier: qualifier, headers: headers)
    }

    /// Invokes `function` with `json` encoded as JSON by `encoder` (a labelled parameter of its own, as `String` and
    /// `[UInt8]` are `Encodable` too: `payload:` sends them as they are); the other parameters are those of
    /// ``invoke(function:payload:type:logType:clientContext:qualifier:headers:)-(_,[UInt8],_,_,_,_,_)``.
    public func invoke<Payload: Encodable>(
        function: String, json: Payload, encoder: JSONEncoder = JSONEncoder(),
        type: InvocationType = .requestResponse, logType: LogType = .none, clientContext: String? = nil,
        qualifier: String? = nil, headers: [(String, String)] = []
    ) async throws -> InvokeClient.Response {
        let body = Array(try encoder.encode(json))
        return try await invoke(
            function: function, payload: body, type: type, logType: logType, clientContext: clientContext,
            qualifier: qualifier, headers: headers)
    }

    /// Invokes `function` synchronously with `payload` (JSON bytes) and decodes its response as `Result` with
    /// `decoder`. Throws ``InvokeClient/InvokeError`` when the answer is not the function's success (a function
    /// error, a throttle, any status but 200), and the decoder's error when the response is not a `Result`.
    public func invoke<Result: Decodable>(
        function: String, payload: [UInt8] = [], returning: Result.Type, decoder: JSONDecoder = JSONDecoder(),
        qualifier: String? = nil
    ) async throws -> Result {
        try await invoke(function: function, payload: payload, qualifier: qualifier).decodedSuccess(decoder)
    }

    /// Invokes `function` synchronously with `json` encoded as JSON by `encoder`, and decodes its response as
    /// `Result` with `decoder`. Throws as ``invoke(function:payload:returning:decoder:qualifier:)`` does.
    public func invoke<Payload: Encodable, Result: Decodable>(
        function: String, json: Payload, returning: Result.Type, encoder: JSONEncoder = JSONEncoder(),
        decoder: JSONDecoder = JSONDecoder(), qualifier: String? = nil
    ) async throws -> Result {
        let body = Array(try encoder.encode(json))
        return try await invoke(function: function, payload: body, qualifier: qualifier).decodedSuccess(decoder)
    }
}

extension InvokeClient {
    /// An invoke whose answer was not the function's successful response, with that answer.
    public struct InvokeError: Error, CustomStringConvertible {
        /// What the Invoke API answered.
        public var response: Response

        /// The status and, for a function error, its type and message; for a service error, its type.
        public var description: String {
            if let kind = response.functionError {
                let type = response.functionErrorType.map { " \($0)" } ?? ""
                let message = response.functionErrorMessage.map { ": \($0)" } ?? ""
                return "function error (\(kind))\(type)\(message)"
            }
            return "status \(response.status)" + (response.errorType.map { " (\($0))" } ?? "")
        }
    }
}

extension InvokeClient.Response {
    /// The payload decoded from JSON as `T` by `decoder` (whatever the status; see also `Simulator`'s
    /// `invoke(function:payload:returning:…)`, which first checks that the function succeeded).
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(body))
    }

    /// The payload decoded as `T` when this is the function's success; `InvokeError` otherwise.
    func decodedSuccess<T: Decodable>(_ decoder: JSONDecoder) throws -> T {
        guard status == 200, functionError == nil else { throw InvokeClient.InvokeError(response: self) }
        return try decode(T.self, decoder: decoder)
    }
}
