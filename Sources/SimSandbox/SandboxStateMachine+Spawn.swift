#if canImport(Glibc)
    import Glibc
#endif

/// A runtime that could not be started: which Lambda error that is.
extension SandboxStateMachine {
    /// Why the sandbox could not start its runtime, as the process layer found it.
    package enum SpawnError: Equatable, Sendable {
        /// Starting `program` failed with `errno`; `systemMessage` is the system's text for it (`strerror`).
        case exec(program: String, errno: Int32, systemMessage: String)
        /// The code directory `path` (every process's working directory) is not a directory; `cause` in Go's
        /// wording (`no such file or directory`, `not a directory`).
        case workingDirectory(path: String, cause: String)
    }

    /// The runtime could not be started. A bad code directory is Lambda's `Runtime.InvalidWorkingDir`; a bootstrap
    /// that is missing, cannot be run or is no program (a script without `#!`) is `Runtime.InvalidEntrypoint` in
    /// Go's wording; anything else (out of descriptors, processes or memory) is the simulator's failure, noted.
    package mutating func spawnFailed(_ error: SpawnError) -> [Action] {
        switch error {
        case .workingDirectory(let path, let cause):
            return failSpawn(.invalidWorkingDirectory(path: path, cause: cause))
        case .exec(let program, let code, let systemMessage):
            let reason: String
            switch code {
            case EACCES: reason = "permission denied"
            case ENOEXEC: reason = "exec format error"
            case ENOENT: reason = "no such file or directory"
            default:
                return [.publish(.notice("lambda-sim: cannot start \(program): \(systemMessage)"), requestID: nil)]
                    + failSpawn(.runtimeNotStarted(systemMessage: systemMessage))
            }
            return failSpawn(.invalidEntrypoint(program: program, reason: reason))
        }
    }

    /// The runtime could not be started: init fails with `failure`, no process to wait for.
    /// Only as the sandbox performs `launchExtensions` or `spawnRuntime`, during an init.
    mutating func failSpawn(_ failure: PlatformFailure) -> [Action] {
        guard case .initializing = state else {
            preconditionFailure("spawnFailed in \(state): only while performing launchExtensions or spawnRuntime")
        }
        return failInit(.platform(failure), processesAlive: false)
    }
}
