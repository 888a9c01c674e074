import Foundation
import Testing

@testable import SimLoad

/// What `load` checks before any load besides its numbers: a runnable command, writable outputs.
@Suite struct PreflightTests {
    /// A command that does not exist, is not executable or is not found in PATH is named before any load.
    @Test func commandsThatCannotStart() throws {
        let directory = try makeDirectory()
        let script = directory + "/bootstrap"
        try "#!/bin/sh\n".write(toFile: script, atomically: true, encoding: .utf8)
        #expect(Preflight.commandProblem(["/nonexistent"], codeDirectory: "/", searchPath: nil) != nil)
        #expect(
            Preflight.commandProblem([script], codeDirectory: "/", searchPath: nil)?.contains("not an executable")
                == true)
        chmod(script, 0o755)
        #expect(Preflight.commandProblem([script], codeDirectory: "/", searchPath: nil) == nil)
        #expect(Preflight.commandProblem(["bootstrap"], codeDirectory: "/", searchPath: "/usr/bin:" + directory) == nil)
        #expect(Preflight.commandProblem(["bootstrap"], codeDirectory: "/", searchPath: "/usr/bin") != nil)
        #expect(Preflight.commandProblem([directory], codeDirectory: "/", searchPath: nil) != nil)
        #expect(Preflight.commandProblem([script], codeDirectory: "/nonexistent", searchPath: nil) != nil)
    }

    /// An output in a directory that cannot be written fails when prepared (before the load); a regular file is
    /// replaced on commit and only then, keeping its mode; a symlink to one stays a symlink.
    @Test func regularFilesAreReplacedAtomically() throws {
        let directory = try makeDirectory()
        #expect(throws: LoadPlanError.self) { try OutputFile("/nonexistent/x.json", option: "--json") }
        #expect(throws: LoadPlanError.self) { try OutputFile(directory, option: "--json") }
        let path = directory + "/result.json"
        try "old".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let output = try OutputFile(path, option: "--json")
        try output.write("new")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        try output.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        let link = directory + "/link.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let throughLink = try OutputFile(link, option: "--json")
        try throughLink.write("linked")
        try throughLink.commit()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "linked")
        // Nothing but the two files is left in the directory: no temporary file after a commit or a discard.
        try OutputFile(directory + "/other.json", option: "--json").discard()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["link.json", "result.json"])
    }

    /// `/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N` and links to them name this process's descriptors.
    @Test func descriptorPaths() throws {
        #expect(OutputFile.descriptorNamed(by: "/dev/stdout") == 1)
        #expect(OutputFile.descriptorNamed(by: "/dev/fd/3") == 3)
        #expect(OutputFile.descriptorNamed(by: "/proc/self/fd/2") == 2)
        let directory = try makeDirectory()
        try FileManager.default.createSymbolicLink(atPath: directory + "/out", withDestinationPath: "/dev/stdout")
        #expect(OutputFile.descriptorNamed(by: directory + "/out") == 1)
        #expect(OutputFile.descriptorNamed(by: directory + "/result.json") == nil)
        #expect(try OutputFile("/dev/stdout", option: "--json").isStandardOutput)
    }

    /// A target that exists and is not a regular file (a FIFO here) is written in place, never renamed over.
    @Test func fifosAreWrittenInPlace() async throws {
        let directory = try makeDirectory()
        let fifo = directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = Task.detached { () -> String in
            let fd = open(fifo, O_RDONLY)
            defer { close(fd) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while case let n = read(fd, &buffer, buffer.count), n > 0 { bytes += buffer[..<n] }
            return String(decoding: bytes, as: UTF8.self)
        }
        let output = try OutputFile(fifo, option: "--json")
        try output.write("through the pipe")
        try output.commit()
        #expect(await reader.value == "through the pipe")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["pipe"])
    }

    private func makeDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "lambda-sim-load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
