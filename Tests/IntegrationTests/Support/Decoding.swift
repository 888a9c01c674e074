// Independent decoders (Foundation's, not the simulator's) for what the simulator returns.

import Foundation
import LambdaSim
import SimHTTP
import Testing

/// The response body as UTF-8 text.
func text(_ response: HTTPResponse) -> String {
    String(decoding: response.body, as: UTF8.self)
}

/// An invoke's payload as UTF-8 text.
func text(_ response: InvokeClient.Response) -> String { response.text }

/// An HTTP response's body as a JSON object.
func jsonObject(_ response: HTTPResponse) throws -> [String: Any] { try jsonObject(response.body) }

/// An invoke's payload as a JSON object.
func jsonObject(_ response: InvokeClient.Response) throws -> [String: Any] { try jsonObject(response.body) }

/// A JSON object body; throws when the bytes are not a JSON object.
func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    return try #require(value as? [String: Any], "not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
}

/// A JSON object body whose members are all strings, for exact comparisons of error bodies.
func stringObject(_ bytes: [UInt8]) throws -> [String: String] {
    try JSONDecoder().decode([String: String].self, from: Data(bytes))
}

/// A JSON object given as text.
func jsonObject(_ text: String) throws -> [String: Any] {
    try jsonObject(Array(text.utf8))
}

/// Base64 text decoded as UTF-8; nil when it is not base64.
func base64Text(_ encoded: String) -> String? {
    Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
}

/// Base64 of UTF-8 `text`.
func base64(_ text: String) -> String {
    Data(text.utf8).base64EncodedString()
}

/// Milliseconds since the Unix epoch, from the wall clock.
func epochMilliseconds() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded())
}

/// True for a canonical lowercase-or-uppercase UUID.
func isUUID(_ text: String) -> Bool {
    UUID(uuidString: text) != nil && text.count == 36
}

/// A fresh empty directory under the system's temporary directory.
func makeTemporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lambda-sim-it-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}
