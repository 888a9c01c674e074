// The DocC articles show code that runs: every Swift block in them (but the package manifest lines) is one of the
// regions marked `// article: NAME` … `// article-end` in the tests of Examples/RuntimeTests, a package that depends
// on lambda-sim by path and is built and run by CI.

import Foundation
import Testing

@Suite("Documentation")
struct DocumentationTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The Swift code blocks of a Markdown file.
    static func swiftBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```swift") {
                current = []
            } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The `// article:` regions of the example package's tests, by name.
    static func articleRegions() throws -> [String: String] {
        let directory = repository + "/Examples/RuntimeTests/Tests/RuntimeTests"
        var regions: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".swift") {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            var current: (String, [Substring])?
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("// article: ") {
                    current = (String(trimmed.dropFirst("// article: ".count)), [])
                } else if trimmed == "// article-end", let (region, lines) = current {
                    regions[region] = lines.joined(separator: "\n")
                    current = nil
                } else {
                    current?.1.append(line)
                }
            }
        }
        return regions
    }

    /// Code with all whitespace removed: the articles may wrap lines differently from the formatted tests.
    static func squeezed(_ code: String) -> String { code.filter { !$0.isWhitespace } }

    /// Each article's code is a region of the example tests, as they are now.
    @Test(arguments: [
        "TestingARuntime.md", "TestingAnExtension.md", "WaitingForEvents.md", "Cancellation.md", "EventVocabulary.md",
        "FunctionOptions.md",
    ])
    func articleCodeIsTested(article: String) throws {
        let path = Self.repository + "/Sources/LambdaSim/LambdaSim.docc/" + article
        let blocks = Self.swiftBlocks(try String(contentsOfFile: path, encoding: .utf8))
            .filter { !$0.contains(".package(") }
        #expect(!blocks.isEmpty)
        let regions = Set(try Self.articleRegions().values.map(Self.squeezed))
        for block in blocks {
            #expect(
                regions.contains(Self.squeezed(block)),
                "\(article): this block is not in Examples/RuntimeTests:\n\(block)")
        }
    }
}
