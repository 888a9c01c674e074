import Foundation
import SimOrchestrator
import SimUV

extension Simulator {
    /// Most directories watched per function (its code directory and subdirectories).
    static let maxWatchedDirectories = 1_000

    /// Whether a changed entry named `name` is a by-product rather than code: Python's `__pycache__` and `.pyc`
    /// files (written by the first import, which would otherwise reload at once), hidden files and editor backups.
    static func isIgnoredChange(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix("~") || name == "__pycache__" || name.hasSuffix(".pyc")
            || name.hasSuffix(".swp")
    }

    /// Hot reload (`serve --watch`): watches each function's code directory and its subdirectories (those that
    /// exist now, up to 1,000; not `__pycache__` or hidden ones); after a change, and `debounceMilliseconds` of quiet, the function's idle sandboxes
    /// get SHUTDOWN, busy ones finish their invokes first, and new invokes cold-start on the new code. `onReload`
    /// gets the function's name each time. The watchers stop with the simulator.
    ///
    /// - Throws: when a directory cannot be watched (it does not exist, or inotify's limits are reached).
    public func watch(
        _ directories: [(function: String, directory: String)], debounceMilliseconds: UInt64 = 100,
        onReload: (@Sendable (String) -> Void)? = nil
    ) async throws {
        var plan: [(String, [String])] = []
        for (function, directory) in directories {
            var watched = [directory]
            let entries = (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []
            for entry in entries
            where watched.count < Self.maxWatchedDirectories
                && !entry.split(separator: "/").contains(where: { Self.isIgnoredChange(String($0)) })
            {
                var isDirectory: ObjCBool = false
                let path = directory + "/" + entry
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                    watched.append(path)
                }
            }
            plan.append((function, watched))
        }
        let watchPlan = plan
        _ = try await attachFront { loop, pools in
            var watchers: [DirectoryWatcher] = []
            do {
                for (function, paths) in watchPlan {
                    guard let pool = pools.first(where: { $0.function.name == function }) else { continue }
                    var pending = false
                    for path in paths {
                        watchers.append(
                            try DirectoryWatcher(loop: loop, path: path) { [weak pool] name in
                                guard !pending, !Simulator.isIgnoredChange(name) else { return }
                                pending = true
                                loop.schedule(afterMilliseconds: debounceMilliseconds) {
                                    pending = false
                                    pool?.reload()
                                    onReload?(function)
                                }
                            })
                    }
                }
            } catch {
                for watcher in watchers { watcher.close() }
                throw error
            }
            let all = watchers
            return (0, { for watcher in all { watcher.close() } })
        }
    }
}
