import FuzzSupport
import SimCore

// libFuzzer target: the JSON validator and parser. The validator must agree with the parser, and a parsed
// document must serialise to text that parses back to the same document.
/// One input: returns 0 (libFuzzer's convention); a failed precondition is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let invalid = JSON.validate(bytes)
    let parsed = try? JSON.parse(bytes)
    precondition((invalid == nil) == (parsed != nil), "validate and parse disagree")
    if let parsed {
        let again = try? JSON.parse(parsed.serialized)
        precondition(again == parsed, "serialising changed the document")
    }
    return 0
}

// libFuzzer's driver runs the inputs.
runFuzzer { data, size in data.map { fuzz($0, size) } ?? 0 }
