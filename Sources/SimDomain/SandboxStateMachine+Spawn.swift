/// A runtime that could not be started: which Lambda error that is.
extension SandboxStateMachine {
    /// Why the sandbox could not start its runtime, as the process layer found it.
    package enum SpawnError: Equatable, Sendable {
        /// Starting `program` failed for `cause`.
        case exec(program: String, cause: ExecFailure)
        /// The code directory `path` (every process's working directory) is not a directory; `cause` in Go's
        /// wording (`no such file or directory`, `not a directory`).
        case workingDirectory(path: String, cause: String)
    }

    /// Why the system refused to start a program: the process layer's `errno`, as far as Lambda tells them apart.
    package enum ExecFailure: Equatable, Sendable {
        /// There is no such program (`ENOENT`).
        case notFound
        /// The program may not be run (`EACCES`).
        case permissionDenied
        /// The file is no program the system can run, such as a script without `#!` (`ENOEXEC`).
        case notAProgram
        /// Any other error (out of descriptors, processes or memory); `systemMessage` is the system's text for it.
        case system(systemMessage: String)
    }

    /// The runtime could not be started. A bad code directory is Lambda's `Runtime.InvalidWorkingDir`; a bootstrap
    /// that is missing, cannot be run or is no program (a script without `#!`) is `Runtime.InvalidEntrypoint` in
    /// Go's wording; anything else (out of descriptors, processes or memory) is the simulator's failure, noted.
    package mutating func spawnFailed(_ error: SpawnError) -> [Action] {
        switch error {
        case .workingDirectory(let path, let cause):
            return failSpawn(.invalidWorkingDirectory(path: path, cause: cause))
        case .exec(let program, let cause):
            let reason: String
            switch cause {
            case .permissionDenied: reason = "permission denied"
            case .notAProgram: reason = "exec format error"
            case .notFound: reason = "no such file or directory"
            case .system(let systemMessage):
                return [.publish(.notice("lambda-sim: cannot start \(program): \(systemMessage)"), requestID: nil)]
                    + failSpawn(.runtimeNotStarted(systemMessage: systemMessage))
            }
            return failSpawn(.invalidEntrypoint(program: program, reason: reason))
        }
    }

    /// The runtime could not be started: init fails with `failure`. With no extension launched there is no process
    /// to wait for and the machine moves on at once; launched extensions may still run, so what follows the failure
    /// (a retried init above all) waits for their exit (`processesGone`), as after any failed init.
    /// Only as the sandbox performs `launchExtensions` or `spawnRuntime`, during an init.
    mutating func failSpawn(_ failure: PlatformFailure) -> [Action] {
        guard case .initializing = state else {
            preconditionFailure("spawnFailed in \(state): only while performing launchExtensions or spawnRuntime")
        }
        return failInit(.platform(failure), processesAlive: !extensions.launched.isEmpty)
    }
}
