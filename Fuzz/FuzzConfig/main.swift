import FuzzSupport
import SimConfig

// libFuzzer target: the configuration loader. Any text ends in a configuration or in a ConfigError that names
// a line and says what is wrong, never in a crash.
/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try ConfigLoader.parse(text, file: "fuzz.yaml", baseDirectory: "/tmp")
    } catch {
        precondition(!error.message.isEmpty, "an error without a message")
        precondition(error.line >= 0, "an error with a negative line")
    }
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
